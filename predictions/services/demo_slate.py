"""Today's demo slate (``demo_slate_create``): an upcoming, unsettled day of simulated games
in a loaded demo league, priced by the simulator's book model around each player's recent
form. ``manage.py predict_slate --demo-slate`` posts it (``make run`` does for today);
``demo_odds`` plays it forward as an odds feed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Max, Q

from a1site.core.errors import ApplicationError

from ..engine.simulate import PROP_THRESHOLDS, book_quote, role_dispersion
from ..engine.sports import SPORTS
from ..models import Game, Player, StatLine, Team
from ..writes import write_games, write_props
from .catalogue import sports_sync_catalogue
from .demo import DEMO_SEEN_HOUR

# Today's demo slate: priced by the simulator's book model around each player's recent form.
DEMO_SLATE_BOOK = "SimBook Today"
# The book's estimate: the player's last 30 games shrunk toward his role's average by 10
# pseudo-games (a raw 10-game average is far noisier than a real book on low counts such as
# NHL points), times its own 6 % error, the simulator's sharper book's.
DEMO_SLATE_HISTORY_GAMES = 30
DEMO_SLATE_PRIOR_GAMES = 10
DEMO_SLATE_BOOK_ERROR_SD = 0.06


def _slate_available(*, teams: list[int], date) -> set[int]:
    """The players who played in their team's latest game before ``date``: the demo book's
    injury report (a player who missed it is taken to be still out)."""
    latest = dict(
        StatLine.objects.filter(team_id__in=teams, game__kind=Game.Kind.GAME, game__date__lt=date)
        .values("team_id")
        .annotate(last=Max("game__date"))
        .values_list("team_id", "last")
    )
    if not latest:
        return set()
    played = Q()
    for team, day in latest.items():
        played |= Q(team_id=team, game__date=day)
    return set(StatLine.objects.filter(played, game__kind=Game.Kind.GAME).values_list("player_id", flat=True))


def _slate_league(sport: str) -> tuple[int, list[int], int]:
    """The simulated game sport's id, its teams' pks (by external id) and its latest season;
    refuses a sport that is not one, or whose league is not loaded."""
    definition = SPORTS.get(sport)
    if definition is None or not definition.simulated or definition.horizon != "game":
        raise ApplicationError(
            f"A demo slate is for the simulated game sports, not {sport!r}.",
            code="no_demo_slate",
            fields={"sport": ["Not simulated."]},
        )
    sport_id = sports_sync_catalogue()[sport]
    teams = list(Team.objects.filter(sport_id=sport_id).order_by("external_id").values_list("pk", flat=True))
    last = Game.objects.filter(sport_id=sport_id, kind=Game.Kind.GAME).order_by("-date").values("season").first()
    if len(teams) < 2 or last is None:
        raise ApplicationError(f"No {sport} league loaded; run load_demo first.", code="no_data")
    return sport_id, teams, last["season"]


def _write_slate_games(*, sport_id: int, season: int, date, pairs: list[tuple[int, int]]) -> tuple[int, dict[int, int]]:
    """Write the slate's games (home, away pairs); returns how many were created and each
    team's game pk."""
    external = [f"SLATE-{date:%Y%m%d}-{index:02d}" for index in range(len(pairs))]
    created, _ = write_games(
        pd.DataFrame(
            {
                "sport_pk": sport_id,
                "game_id": external,
                "kind": Game.Kind.GAME,
                "season": season,
                "date": pd.Timestamp(date),
                "home_team_pk": [home for home, _ in pairs],
                "away_team_pk": [away for _, away in pairs],
                "pace": np.nan,
                "simulated": True,
            }
        )
    )
    game_pk = dict(Game.objects.filter(sport_id=sport_id, external_id__in=external).values_list("external_id", "pk"))
    game_of_team = {}
    for ext, (home, away) in zip(external, pairs, strict=True):
        game_of_team[home] = game_of_team[away] = game_pk[ext]
    return created, game_of_team


def _slate_recent_stats(players: list[tuple[int, int, str]], *, date) -> dict[int, list[dict]]:
    """Each player's stats in his latest ``DEMO_SLATE_HISTORY_GAMES`` games before ``date``, newest first."""
    recent: dict[int, list[dict]] = {}
    for player, stats in (
        StatLine.objects.filter(player_id__in=[p[0] for p in players], game__kind=Game.Kind.GAME, game__date__lt=date)
        .order_by("player_id", "-game__date")
        .values_list("player_id", "stats")
    ):
        history = recent.setdefault(player, [])
        if len(history) < DEMO_SLATE_HISTORY_GAMES:
            history.append(stats)
    return recent


def _slate_quote_rows(
    *, sport: str, players: list[tuple[int, int, str]], recent, game_of_team: dict[int, int], date, rng
) -> list[dict]:
    """The book's quote rows of the slate (``demo_slate_create`` says how it prices)."""
    definition = SPORTS[sport]
    # The role's average per stat over the slate's players: what the book shrinks toward.
    role_totals: dict[tuple[str, str], list[float]] = {}
    for player, _, role in players:
        for stats in recent.get(player, []):
            for code, value in stats.items():
                role_totals.setdefault((role, code), []).append(float(value))
    rows = []
    for player, team, role in players:
        history = recent.get(player)
        if not history:
            continue
        dispersion = role_dispersion(sport, role)
        for stat_index, stat in enumerate(definition.stats):
            if role not in stat.roles:
                continue
            total = sum(float(stats.get(stat.code, 0.0)) for stats in history)
            prior = float(np.mean(role_totals.get((role, stat.code), [0.0])))
            estimate = (total + DEMO_SLATE_PRIOR_GAMES * prior) / (len(history) + DEMO_SLATE_PRIOR_GAMES)
            book_mean = estimate * float(np.exp(DEMO_SLATE_BOOK_ERROR_SD * rng.standard_normal()))
            if book_mean < PROP_THRESHOLDS[sport][stat.code]:
                continue
            line, over, under = book_quote(
                stat.family, np.array([book_mean]), dispersion[[stat_index]], np.array([False])
            )
            rows.append(
                {
                    "game_pk": game_of_team[team],
                    "player_pk": player,
                    "stat": stat.code,
                    "book": DEMO_SLATE_BOOK,
                    "seen_at": pd.Timestamp(date).tz_localize("UTC") + pd.Timedelta(hours=DEMO_SEEN_HOUR),
                    "line": float(line[0]),
                    "over_decimal_odds": float(over[0]),
                    "under_decimal_odds": float(under[0]),
                    "simulated": True,
                    "oracle_mean": np.nan,
                    "oracle_dispersion": np.nan,
                    "sport_code": sport,
                }
            )
    return rows


def demo_slate_create(*, sport: str, date, seed: int = 0) -> dict[str, int]:
    """An upcoming, unsettled slate of simulated games on ``date`` for a simulated sport: each
    team plays once (pairs drawn with the seed), and a simulated book posts a line on every
    stat of every available player whose recent average reaches the simulator's prop
    threshold. Available: he played in his team's latest game (``_slate_available``), as a
    book reads the injury report; an injured player is not priced, so the players priced,
    who stand for the lineup in serving, leave his minutes to his teammates as in a played
    game.
    The book quotes as in the simulator (``engine.simulate.book_quote``): its mean is the
    player's recent average shrunk toward his role's (``DEMO_SLATE_*``) times a private
    log-normal error, its line the half point nearest
    its median under the role's dispersion, priced from that distribution with the simulator's
    margin. Labelled simulated, no results. Repeatable: the same day and seed upsert the same
    rows."""
    sport_id, teams, season = _slate_league(sport)
    # One stream for the pairing and then the book's errors, in this order (same seed, same slate).
    rng = np.random.default_rng([seed, date.toordinal(), len(sport)])
    order = rng.permutation(teams)
    pairs = list(zip(order[0::2].tolist(), order[1::2].tolist(), strict=False))
    with transaction.atomic():
        created_games, game_of_team = _write_slate_games(sport_id=sport_id, season=season, date=date, pairs=pairs)
        players = list(
            Player.objects.filter(
                sport_id=sport_id,
                team_id__in=game_of_team,
                pk__in=_slate_available(teams=list(game_of_team), date=date),
            )
            .order_by("pk")
            .values_list("pk", "team_id", "role")
        )
        recent = _slate_recent_stats(players, date=date)
        rows = _slate_quote_rows(
            sport=sport, players=players, recent=recent, game_of_team=game_of_team, date=date, rng=rng
        )
        created_props = 0
        if rows:
            frame = pd.DataFrame(rows)
            frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True)
            created_props, _ = write_props(frame)
    return {"games": created_games, "props": created_props, "priced": len(rows)}

import datetime as dt
import io

import pytest

from predictions.models import Game, Player, Team
from predictions.services import sports_sync_catalogue


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def league(db):
    """Two NBA teams, three players and one game: what the stat/prop/result files refer to."""
    sport_ids = sports_sync_catalogue()
    nba = sport_ids["nba"]
    bos = Team.objects.create(sport_id=nba, external_id="BOS", name="Boston", abbreviation="BOS")
    lal = Team.objects.create(sport_id=nba, external_id="LAL", name="Los Angeles", abbreviation="LAL")
    players = {
        ext: Player.objects.create(sport_id=nba, external_id=ext, name=name, team=team, role="starter")
        for ext, name, team in (("p1", "Jay One", bos), ("p2", "Al Two", lal), ("p3", "Cy Three", bos))
    }
    game = Game.objects.create(
        sport_id=nba, external_id="g1", season=2024, date=dt.date(2024, 10, 22), home_team=bos, away_team=lal
    )
    return {"teams": {"BOS": bos, "LAL": lal}, "players": players, "game": game}


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.strip().encode() + b"\n")


@pytest.fixture
def write_csv(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text.strip() + "\n")
        return path

    return write


# --- Serving fixtures: a tiny league and quick models --------------------------------------------

MINI_START = dt.date(2024, 11, 1)
MINI_PAST_DAYS = 12
MINI_UPCOMING = MINI_START + dt.timedelta(days=MINI_PAST_DAYS + 2)


@pytest.fixture(autouse=True)
def _fresh_inference_service(settings):
    """Each test starts with no model loaded, and checks the generation on every call."""
    from predictions.services import serving_caches_clear
    from predictions.serving import reset_service

    settings.PREDICTIONS_SERVING_CHECK_MS = 0
    reset_service()
    serving_caches_clear()
    yield
    reset_service()
    serving_caches_clear()


@pytest.fixture(scope="session")
def nba_points_training():
    """Quick NBA points models trained once per session on the small simulated league
    (engine only; the tests register the artifacts into their own database)."""
    from predictions.engine.simulate import simulate_league
    from predictions.engine.training import build_game_dataset, demo_sim_configs, quick_train_config, train_stat

    config = next(c for c in demo_sim_configs(seed=0, quick=True) if c.sport == "nba")
    league = simulate_league(config)
    dataset = build_game_dataset(league.stat_lines, league.games, league.props, sport="nba", stat="points")
    return dataset, train_stat(dataset, seed=0, config=quick_train_config())


@pytest.fixture
def register_models(nba_points_training):
    """Register the quick NBA points models (one more version each call; the first is production)."""
    from a1site.registry.models import ModelVersion
    from predictions import services

    def register() -> ModelVersion:
        registered = services.model_versions_register(result=nba_points_training[1], user=None)
        ensemble = next(item for item in registered if item["name"] == "nba.points.ensemble")
        return ModelVersion.objects.get(name="nba.points.ensemble", version=ensemble["version"])

    return register


@pytest.fixture
def mini_league(db):
    """Four NBA teams of five players, 12 days of played games (two games a day, with stat
    lines) and two upcoming games on MINI_UPCOMING with a points prop for every player."""
    import numpy as np
    from django.utils import timezone

    from predictions.models import PropLine, StatLine

    rng = np.random.default_rng(7)
    nba = sports_sync_catalogue()["nba"]
    teams = [
        Team.objects.create(
            sport_id=nba, external_id=f"MT{t}", name=f"Mini Team {t}", abbreviation=f"MT{t}", simulated=True
        )
        for t in range(4)
    ]
    players = []
    for t, team in enumerate(teams):
        for slot in range(5):
            players.append(
                Player.objects.create(
                    sport_id=nba,
                    external_id=f"MP{t}{slot}",
                    name=f"Mini Player {t}{slot}",
                    team=team,
                    role="starter" if slot < 3 else "bench",
                    simulated=True,
                )
            )
    pairings = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    games, lines = [], []
    for day in range(MINI_PAST_DAYS):
        for number, (home, away) in enumerate(pairings[day % 3]):
            games.append(
                Game(
                    sport_id=nba,
                    external_id=f"MG{day:02d}{number}",
                    season=2024,
                    date=MINI_START + dt.timedelta(days=day),
                    home_team=teams[home],
                    away_team=teams[away],
                    pace=float(rng.normal(100, 2)),
                    simulated=True,
                )
            )
    Game.objects.bulk_create(games)
    for game in games:
        for team, opponent, is_home in (
            (game.home_team, game.away_team, True),
            (game.away_team, game.home_team, False),
        ):
            for player in (p for p in players if p.team_id == team.pk):
                starter = player.role == "starter"
                lines.append(
                    StatLine(
                        game=game,
                        player=player,
                        team=team,
                        opponent=opponent,
                        is_home=is_home,
                        role=player.role,
                        minutes=round(float(rng.normal(32 if starter else 16, 3)), 1),
                        stats={
                            "points": int(rng.poisson(16 if starter else 7)),
                            "rebounds": int(rng.poisson(6 if starter else 3)),
                            "assists": int(rng.poisson(4 if starter else 2)),
                            "threes": int(rng.poisson(2 if starter else 1)),
                        },
                        simulated=True,
                    )
                )
    StatLine.objects.bulk_create(lines)
    upcoming = [
        Game.objects.create(
            sport_id=nba,
            external_id=f"MU{number}",
            season=2024,
            date=MINI_UPCOMING,
            home_team=teams[home],
            away_team=teams[away],
            simulated=True,
        )
        for number, (home, away) in enumerate(pairings[0])
    ]
    seen_at = timezone.make_aware(dt.datetime.combine(MINI_UPCOMING, dt.time(12)), dt.UTC)
    props = []
    for game in upcoming:
        for player in (p for p in players if p.team_id in (game.home_team_id, game.away_team_id)):
            starter = player.role == "starter"
            props.append(
                PropLine(
                    game=game,
                    player=player,
                    stat="points",
                    book="MiniBook",
                    line=15.5 if starter else 6.5,
                    over_decimal_odds=round(float(rng.uniform(1.8, 2.05)), 2),
                    under_decimal_odds=round(float(rng.uniform(1.8, 2.05)), 2),
                    seen_at=seen_at,
                    simulated=True,
                )
            )
    PropLine.objects.bulk_create(props)
    return {"teams": teams, "players": players, "games": games, "upcoming": upcoming, "props": props}


@pytest.fixture
def served(mini_league, register_models):
    """The mini league with NBA points models in production."""
    return {**mini_league, "version": register_models()}

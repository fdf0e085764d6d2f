"""Use cases of the predictions app: the sports catalogue, imports, training, serving's
predictions and slates (demo data: predictions.demo; the bulk writers: predictions.writes).

Imports: ``data_import`` reads a CSV stream or a JSON list through the pure validator
(predictions.importers), resolves natural keys against the database and writes with one
``INSERT … ON CONFLICT`` per row in ``executemany`` batches, all in one transaction: a file
with a bad row writes nothing unless ``skip_bad``. Re-importing a row with the same natural key
updates it only where a value changed, so the same file twice changes nothing.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import orjson
import pandas as pd
from django.db import connection, transaction

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.core.memory import gc_paused

from . import importers, selectors, writes
from .engine.features import feature_schema_for
from .engine.sports import SPORTS
from .importers import SPECS, ErrorLog, FileRejected, RowError
from .models import Game, Player, Prediction, PropFeatures, PropLine, Sport, StatLine

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str = "") -> None:
    return None


# --- The sports catalogue -----------------------------------------------------------------


def sports_sync_catalogue() -> dict[str, int]:
    """Make the Sport rows match the engine's catalogue (idempotent); code → pk."""
    existing = {sport.code: sport for sport in Sport.objects.all()}
    for code, definition in SPORTS.items():
        values = {"label": definition.label, "simulated": definition.simulated, "horizon": definition.horizon}
        sport = existing.get(code)
        if sport is None:
            Sport.objects.create(code=code, **values)
        elif any(getattr(sport, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(sport, name, value)
            sport.save(update_fields=list(values))
    return selectors.sport_id_map()


# --- Imports ---------------------------------------------------------------------------------


class _DbLookups:
    """The importers' natural-key maps, read once per sport per import."""

    def __init__(self) -> None:
        self._sports = sports_sync_catalogue()
        self._cache: dict[tuple[str, int], object] = {}

    def _cached(self, name: str, sport_id: int, read):
        if (name, sport_id) not in self._cache:
            self._cache[name, sport_id] = read(sport_id=sport_id)
        return self._cache[name, sport_id]

    def sport_ids(self) -> dict[str, int]:
        return self._sports

    def team_ids(self, sport_id: int) -> dict[str, int]:
        return self._cached("teams", sport_id, selectors.team_id_map)

    def player_ids(self, sport_id: int) -> dict[str, int]:
        return self._cached("players", sport_id, selectors.player_id_map)

    def games(self, sport_id: int) -> pd.DataFrame:
        return self._cached("games", sport_id, selectors.game_key_table)


@dataclass
class ImportReport:
    kind: str
    source: str
    skip_bad: bool
    rows: int = 0
    imported: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.source,
            "skip_bad": self.skip_bad,
            "rows": self.rows,
            "imported": self.imported,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "error_count": self.error_count,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
        }


class ImportRejected(ApplicationError):
    """Bad rows (or an unreadable file) and no ``skip_bad``: nothing was written."""

    def __init__(self, message: str, *, code: str, fields: dict, report: ImportReport):
        super().__init__(message, code=code, status_code=400, fields=fields)
        self.report = report


class _Rollback(Exception):
    pass


def _summary(errors: list[RowError], total: int) -> str:
    shown = "; ".join(f"{e.field_key}: {e.message}" for e in errors[:3])
    more = f" (and {total - 3} more)" if total > 3 else ""
    return f"{shown}{more}"


def data_import(
    *,
    kind: str,
    csv_file=None,
    records: list | None = None,
    user=None,
    skip_bad: bool = False,
    source: str = "",
    total_bytes: int | None = None,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Validate and import one file (``csv_file``: a binary stream) or JSON list (``records``).

    Raises ImportRejected (400, code ``invalid_rows`` or ``invalid_file``) naming each bad row
    and column when anything is wrong and ``skip_bad`` is off; nothing is written then.
    """
    if kind not in SPECS:
        raise ApplicationError(
            f"Unknown import kind {kind!r}; expected one of {', '.join(SPECS)}.", code="unknown_kind", status_code=404
        )
    if (csv_file is None) == (records is None):
        raise ValueError("give exactly one of csv_file and records")
    spec = SPECS[kind]
    _, write = writes.WRITERS[kind]
    progress = progress or no_progress
    report = ImportReport(kind=kind, source=source, skip_bad=skip_bad)
    log = ErrorLog()
    try:
        with transaction.atomic():
            lookups = _DbLookups()
            tracker = importers.DuplicateTracker()
            if csv_file is not None:
                chunks = importers.csv_chunks(csv_file, spec, total_bytes=total_bytes)
            else:
                chunks = importers.record_chunks(records, spec)
            for raw in chunks:
                for error in raw.errors:
                    log.add(error)
                unreadable = len({error.row for error in raw.errors})
                parsed = importers.parse_chunk(spec, raw, log)
                importers.resolve_chunk(spec, parsed, lookups, log)
                tracker.check(spec, parsed, log)
                bad = int(parsed.bad.sum()) + unreadable
                report.rows += len(parsed.frame) + unreadable
                report.skipped += bad
                if skip_bad or report.skipped == 0:
                    good = parsed.frame.loc[~parsed.bad]
                    created, updated = write(good)
                    report.created += created
                    report.updated += updated
                    report.imported += len(good)
                progress(raw.progress, f"{report.rows:,} rows read, {report.skipped:,} bad")
            report.error_count = log.count
            report.errors = sorted(log.errors)
            if report.skipped and not skip_bad:
                raise _Rollback
            report.unchanged = report.imported - report.created - report.updated
            audit_record(
                actor=user,
                action="predictions.import",
                object_type="predictions.import",
                object_id=kind,
                after={key: value for key, value in report.as_dict().items() if key != "errors"},
                details={"errors": [e.field_key + ": " + e.message for e in report.errors[:50]]},
            )
            if kind == "results" and report.imported:
                _grade_after_commit()
    except FileRejected as exc:
        report.errors, report.error_count = exc.errors, len(exc.errors)
        _audit_rejected(user=user, report=report)
        raise ImportRejected(
            f"The {kind} file cannot be imported: {_summary(exc.errors, len(exc.errors))}",
            code="invalid_file",
            fields={error.field_key: [error.message] for error in exc.errors},
            report=report,
        )
    except _Rollback:
        _audit_rejected(user=user, report=report)
        raise ImportRejected(
            f"{report.skipped:,} of {report.rows:,} rows are invalid; nothing was imported "
            f"(use skip_bad to import the good rows). {_summary(report.errors, report.error_count)}",
            code="invalid_rows",
            fields=log.as_fields(),
            report=report,
        )
    progress(1.0, "done")
    logger.info("import finished", extra={"report": {k: v for k, v in report.as_dict().items() if k != "errors"}})
    return report


def _grade_after_commit() -> None:
    """New results: grade the settled props once the import is committed (a Celery task)."""
    from . import tasks

    transaction.on_commit(lambda: tasks.grade_props_task.delay())


def _audit_rejected(*, user, report: ImportReport) -> None:
    audit_record(
        actor=user,
        action="predictions.import_rejected",
        object_type="predictions.import",
        object_id=report.kind,
        after={key: value for key, value in report.as_dict().items() if key != "errors"},
        details={"errors": [e.field_key + ": " + e.message for e in report.errors[:50]]},
    )


# --- From the database to the engine's arrays ---------------------------------------------------

# Matches the simulator (engine.simulate.MAX_REST_DAYS): a season opener counts as 10 days off.
MAX_REST_DAYS = 10


def _rest_days(games: pd.DataFrame) -> pd.DataFrame:
    """Full days off before each (game, team) since the team's previous game that season."""
    sides = pd.concat(
        [
            games[["game_id", "season", "date", "home_team_id"]].rename(columns={"home_team_id": "team_id"}),
            games[["game_id", "season", "date", "away_team_id"]].rename(columns={"away_team_id": "team_id"}),
        ]
    ).sort_values(["team_id", "season", "date", "game_id"], kind="stable")
    previous = sides.groupby(["team_id", "season"])["date"].shift(1)
    days = (sides["date"] - previous).dt.days - 1
    sides["rest_days"] = days.fillna(MAX_REST_DAYS).clip(upper=MAX_REST_DAYS).astype(int)
    return sides[["game_id", "team_id", "rest_days"]]


def game_logs(*, sport: str, with_props: bool = True):
    """The sport's games, stat lines and prop lines as the engine's columnar arrays
    (engine.logs), with database primary keys as the game, player and team ids.
    ``with_props=False`` skips the prop lines (None in their place)."""
    from .engine.logs import Games, Props, StatLines

    games = pd.DataFrame(
        selectors.game_list(sport=sport)
        .filter(kind=Game.Kind.GAME)
        .order_by("date", "id")
        .values_list("id", "season", "date", "home_team_id", "away_team_id", "pace"),
        columns=["game_id", "season", "date", "home_team_id", "away_team_id", "pace"],
    )
    games["date"] = pd.to_datetime(games["date"])
    line_rows = (
        StatLine.objects.filter(game__sport__code=sport, game__kind=Game.Kind.GAME, team__isnull=False)
        .order_by("game__date", "game_id", "team_id", "player_id")
        .values_list(
            "game_id", "player_id", "team_id", "opponent_id", "is_home", "role", "player__role", "minutes", "stats"
        )
    )
    lines = pd.DataFrame(
        list(line_rows),
        columns=[
            "game_id",
            "player_id",
            "team_id",
            "opponent_id",
            "is_home",
            "role",
            "player_role",
            "minutes",
            "stats",
        ],
    )
    lines = lines.merge(games[["game_id", "season", "date"]], on="game_id", how="left")
    lines = lines.merge(_rest_days(games), on=["game_id", "team_id"], how="left")
    stat_codes = [stat.code for stat in SPORTS[sport].stats]
    stat_lines = StatLines(
        game_id=lines["game_id"].to_numpy(np.int64),
        player_id=lines["player_id"].to_numpy(np.int64),
        team_id=lines["team_id"].to_numpy(np.int64),
        opponent_id=lines["opponent_id"].to_numpy(np.int64),
        game_date=lines["date"].to_numpy("datetime64[D]"),
        season=lines["season"].to_numpy(np.int64),
        role=np.where(lines["role"] != "", lines["role"], lines["player_role"]).astype(str),
        is_home=lines["is_home"].fillna(False).to_numpy(bool),
        rest_days=lines["rest_days"].to_numpy(np.int64),
        minutes=lines["minutes"].astype(float).to_numpy(),
        stats={
            code: np.array([stats.get(code, np.nan) for stats in lines["stats"]], dtype=float) for code in stat_codes
        },
    )
    games_columns = Games(
        game_id=games["game_id"].to_numpy(np.int64),
        season=games["season"].to_numpy(np.int64),
        game_date=games["date"].to_numpy("datetime64[D]"),
        home_team_id=games["home_team_id"].to_numpy(np.int64),
        away_team_id=games["away_team_id"].to_numpy(np.int64),
        pace=games["pace"].astype(float).to_numpy(),
    )
    if not with_props:
        return games_columns, stat_lines, None
    prop_rows = (
        PropLine.objects.filter(game__sport__code=sport, game__kind=Game.Kind.GAME)
        .order_by("game__date", "game_id", "player_id", "stat", "book", "seen_at")
        .values_list(
            "game_id",
            "player_id",
            "game__date",
            "stat",
            "line",
            "over_decimal_odds",
            "under_decimal_odds",
            "book",
            "oracle_mean",
            "oracle_dispersion",
        )
    )
    props = pd.DataFrame(
        list(prop_rows),
        columns=[
            "game_id",
            "player_id",
            "date",
            "stat",
            "line",
            "over",
            "under",
            "book",
            "oracle_mean",
            "oracle_dispersion",
        ],
    )
    return (
        games_columns,
        stat_lines,
        Props(
            game_id=props["game_id"].to_numpy(np.int64),
            player_id=props["player_id"].to_numpy(np.int64),
            game_date=pd.to_datetime(props["date"]).to_numpy("datetime64[D]"),
            stat=props["stat"].to_numpy(str),
            line=props["line"].to_numpy(float),
            over_decimal_odds=props["over"].to_numpy(float),
            under_decimal_odds=props["under"].to_numpy(float),
            book=props["book"].to_numpy(str),
            oracle_mean=props["oracle_mean"].astype(float).to_numpy(),
            oracle_dispersion=props["oracle_dispersion"].astype(float).to_numpy(),
        ),
    )


# Which season-line stat holds each MLB role's volume (engine.lahman's opportunities).
MLB_VOLUME = {"batter": "plate_appearances", "pitcher": "batters_faced"}


def player_seasons(*, role: str):
    """MLB season lines of one role as engine.lahman.PlayerSeasons (ids: Lahman player ids).

    Age is on June 30 of the season (Marcel's convention, as engine.lahman computes it).
    """
    from .engine.features import SEASON_COMPONENTS
    from .engine.lahman import PlayerSeasons

    volume = MLB_VOLUME[role]
    stat_codes = [stat.code for stat in SPORTS["mlb"].stats if role in stat.roles]
    # Components missing from a line (not recorded) stay NaN: engine.features leaves them out.
    components = [code for code in SEASON_COMPONENTS[role] if code not in stat_codes]
    rows = StatLine.objects.filter(game__sport__code="mlb", game__kind=Game.Kind.SEASON).values_list(
        "player__external_id", "player__name", "game__season", "team__external_id", "player__birth_date", "stats"
    )
    frame = pd.DataFrame(list(rows), columns=["player_id", "name", "season", "team", "birth_date", "stats"])
    frame = frame[[volume in stats for stats in frame["stats"]]]
    frame = frame.iloc[np.lexsort((frame["season"].to_numpy(), frame["player_id"].to_numpy(str)))]
    birth = pd.to_datetime(frame["birth_date"])
    age = frame["season"].to_numpy(float) - birth.dt.year.to_numpy(float) - (birth.dt.month >= 7).to_numpy(float)
    return PlayerSeasons(
        role=role,
        player_id=frame["player_id"].to_numpy(str),
        name=frame["name"].to_numpy(str),
        season=frame["season"].to_numpy(np.int64),
        age=np.where(birth.isna().to_numpy(), np.nan, age),
        team=frame["team"].fillna("").to_numpy(str),
        opportunities=np.array([stats[volume] for stats in frame["stats"]], dtype=float),
        stats={
            **{code: np.array([stats.get(code, 0.0) for stats in frame["stats"]], dtype=float) for code in stat_codes},
            **{
                code: np.array([stats.get(code, np.nan) for stats in frame["stats"]], dtype=float)
                for code in components
            },
        },
    )


def _season_prop_table(dataset, stat: str):
    """The stored MLB season props of ``stat``, joined to the dataset's (player, season) rows."""
    from .engine.training import PropTable

    rows = (
        PropLine.objects.filter(game__sport__code="mlb", game__kind=Game.Kind.SEASON, stat=stat)
        .order_by("game__season", "player__external_id", "book", "seen_at")
        .values_list(
            "player__external_id",
            "game__season",
            "line",
            "over_decimal_odds",
            "under_decimal_odds",
            "book",
            "oracle_mean",
            "oracle_dispersion",
        )
    )
    row_of = {
        (str(player), int(season)): index
        for index, (player, season) in enumerate(zip(dataset.player_id, dataset.game_id, strict=True))
    }
    kept = [(row_of[(player, season)], rest) for player, season, *rest in rows if (player, season) in row_of]
    columns = list(zip(*(rest for _, rest in kept), strict=True)) if kept else [[]] * 6
    return PropTable(
        row_index=np.array([row for row, _ in kept], dtype=int),
        line=np.array(columns[0], dtype=float),
        over_decimal_odds=np.array(columns[1], dtype=float),
        under_decimal_odds=np.array(columns[2], dtype=float),
        book=np.array(columns[3], dtype=str),
        oracle_mean=np.array([np.nan if v is None else v for v in columns[4]], dtype=float),
        oracle_dispersion=np.array([np.nan if v is None else v for v in columns[5]], dtype=float),
    )


def dataset_build(*, sport: str, stat: str, seed: int = 0, cache: dict | None = None):
    """The engine's training dataset (engine.training.StatDataset) for one sport/stat, read
    from the database. ``cache`` keeps a sport's logs between its stats."""
    import dataclasses

    from .engine import training

    cache = {} if cache is None else cache
    spec = SPORTS[sport].stat(stat)
    if SPORTS[sport].horizon == "season":
        role = spec.roles[0]
        if ("mlb", role) not in cache:
            cache["mlb", role] = player_seasons(role=role)
        seasons = cache["mlb", role]
        if not len(seasons):
            raise ApplicationError(f"No {sport} {role} seasons in the database.", code="no_data")
        first, last = int(seasons.season.min()) + 3, int(seasons.season.max())
        dataset = training.build_season_dataset(
            seasons, stat, first_target_season=first, last_target_season=last, seed=seed
        )
        # The stored props, not the engine's regenerated ones: what the database holds is what
        # the models are scored against.
        return dataclasses.replace(dataset, props=_season_prop_table(dataset, stat))
    if sport not in cache:
        cache[sport] = game_logs(sport=sport)
    games, stat_lines, props = cache[sport]
    if not len(stat_lines):
        raise ApplicationError(f"No {sport} stat lines in the database.", code="no_data")
    return training.build_game_dataset(stat_lines, games, props, sport=sport, stat=stat)


# --- Training and the registry ---------------------------------------------------------------------

MEMBER_KINDS = ("xgboost", "torch", "ensemble")


def model_name(*, sport: str, stat: str, kind: str) -> str:
    return f"{sport}.{stat}.{kind}"


def _json_safe(value):
    """NaN and infinities become null (JSON, and PostgreSQL's jsonb, have no NaN)."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _as_date(value):
    return pd.Timestamp(value).date()


def _register_result(result, *, user) -> list[dict]:
    from a1site.registry.services import model_version_register

    own = set(MEMBER_KINDS)
    baselines = {name: scores for name, scores in result.metrics.items() if name not in own}
    registered = []
    for kind in MEMBER_KINDS:
        metrics = {
            **result.metrics[kind],
            "members": {name: result.metrics[name] for name in MEMBER_KINDS},
            "baselines": baselines,
            "test_period": [str(result.test_first_date), str(result.test_last_date)],
            "n_train": result.n_train,
            "n_validation": result.n_validation,
            "simulated": result.simulated,
            "train_seconds": round(result.train_seconds, 2),
        }
        if kind == "ensemble":
            metrics["ensemble_weights"] = result.ensemble_weights
        version = model_version_register(
            name=model_name(sport=result.sport, stat=result.stat, kind=kind),
            sport=result.sport,
            stat=result.stat,
            kind=kind,
            artifact_bytes=result.artifacts[kind],
            feature_schema={**result.schema.to_dict(), "family": result.family},
            training_data_start=_as_date(result.data_first_date),
            training_data_end=_as_date(result.data_last_date),
            metrics=_json_safe(metrics),
            user=user,
            plots={"reliability_plot": result.reliability_png, "importance_plot": result.feature_importance_png},
            notes="Trained on simulated data." if result.simulated else "",
        )
        registered.append(
            {
                "name": version.name,
                "version": version.version,
                "status": str(version.status),
                "log_loss": metrics.get("log_loss"),
            }
        )
    return registered


def training_plan(*, sport: str | None = None, stat: str | None = None) -> list[tuple[str, str]]:
    if sport and sport not in SPORTS:
        raise ApplicationError(
            f"Unknown sport {sport!r}; expected one of {', '.join(SPORTS)}.",
            code="unknown_sport",
            fields={"sport": ["Unknown sport."]},
        )
    plan = [(code, s.code) for code, definition in SPORTS.items() if sport in (None, code) for s in definition.stats]
    if stat:
        plan = [(code, s) for code, s in plan if s == stat]
        if not plan:
            raise ApplicationError(
                f"No stat {stat!r} for {sport or 'any sport'}.", code="unknown_stat", fields={"stat": ["Unknown stat."]}
            )
    return plan


def models_train(
    *,
    sport: str | None = None,
    stat: str | None = None,
    user=None,
    seed: int = 0,
    quick: bool = False,
    progress: ProgressFn | None = None,
) -> dict:
    """Train every planned sport/stat on the database's data and register the XGBoost, torch
    and ensemble models with their metrics and plots (engine.training.train_stat). A stat
    without enough data is reported as skipped. ``quick``: the engine's smoke-test sizes."""
    from .engine import training

    progress = progress or no_progress
    plan = training_plan(sport=sport, stat=stat)
    config = training.quick_train_config() if quick else training.TrainConfig()
    cache: dict = {}
    trained, skipped = [], []
    for index, (sport_code, stat_code) in enumerate(plan):

        def step(fraction: float, message: str, index=index) -> None:
            progress((index + fraction) / len(plan), message)

        step(0.0, f"{sport_code} {stat_code}: building the dataset")
        try:
            dataset = dataset_build(sport=sport_code, stat=stat_code, seed=seed, cache=cache)
            result = training.train_stat(dataset, seed=seed, progress=step, config=config)
        except (ApplicationError, ValueError) as exc:
            message = exc.message if isinstance(exc, ApplicationError) else str(exc)
            logger.warning("not trained", extra={"sport": sport_code, "stat": stat_code, "reason": message})
            skipped.append({"sport": sport_code, "stat": stat_code, "reason": message})
            continue
        trained += _register_result(result, user=user)
    progress(1.0, f"{len(trained)} model versions registered")
    return {"trained": trained, "skipped": skipped}


def models_train_start(*, user, sport: str | None = None, stat: str | None = None, quick: bool = False):
    """Queue training as a job (after commit); the job shows its progress to ``user``."""
    from a1site.jobs.services import job_create

    from . import tasks

    training_plan(sport=sport, stat=stat)
    params = {"sport": sport, "stat": stat, "quick": quick}
    job = job_create(kind="predictions.train_models", owner=user, params=params)
    transaction.on_commit(lambda: tasks.train_models_task.delay(str(job.id)))
    return job


def models_train_job(*, job_id: str) -> None:
    """The body of the ``predictions.train_models`` task: run the job's training with progress."""
    from a1site.jobs.models import Job
    from a1site.jobs.services import job_run

    job = Job.objects.select_related("owner").get(pk=job_id)
    params = job.params or {}
    job_run(
        job_id=job_id,
        work=lambda progress: models_train(
            sport=params.get("sport"),
            stat=params.get("stat"),
            quick=bool(params.get("quick")),
            user=job.owner,
            progress=progress,
        ),
    )


def production_model_load(*, sport: str, stat: str, kind: str = "ensemble"):
    """(version, model) of the production model of a sport/stat, loaded from its verified
    artifact (the registry checks the sha256, the engine its own digest and feature schema).
    None if no version of that name is in production."""
    from a1site.registry.selectors import production_version
    from a1site.registry.services import model_version_load_artifact

    from .engine.features import FeatureSchema
    from .engine.models import load_model

    version = production_version(name=model_name(sport=sport, stat=stat, kind=kind))
    if version is None:
        return None
    artifact = model_version_load_artifact(version=version)
    schema = FeatureSchema.from_dict(version.feature_schema)
    return version, load_model(artifact, expected_schema=schema)


# --- Prop features: computed once per (game, player, stat), read by serving ---------------------


def _feature_rows_game_logs(
    *, sport: str, stat: str, targets: list[tuple[int, int]], logs_cache: dict | None = None
) -> dict[tuple[int, int], np.ndarray]:
    """Feature rows of game props in one vectorised pass over the sport's logs
    (engine.features.build_game_features, the training code itself).

    A target with a stat line (a played game) reads that row's features, which depend only on
    earlier games. A target in a game nobody has played yet gets a row appended with unknown
    stats and minutes: its features come from history like any other, and nothing after it
    reads it. Its lineup is not in the data, so the players priced on the game (any stat)
    stand for the lineup (``teammates_out_minutes``), as in ``_game_history_row``. A player
    who did not play a game that has been played gets no row (his props are void)."""
    from .engine.features import build_game_features
    from .engine.logs import StatLines

    if logs_cache is not None and sport in logs_cache:
        games, lines = logs_cache[sport]
    else:
        games, lines, _ = game_logs(sport=sport, with_props=False)
        if logs_cache is not None:
            logs_cache[sport] = (games, lines)
    row_of = {key: row for row, key in enumerate(zip(lines.game_id.tolist(), lines.player_id.tolist(), strict=True))}
    played_games = set(lines.game_id.tolist())
    upcoming = [key for key in targets if key not in row_of and key[0] not in played_games]
    if upcoming:
        # Every player priced on an unplayed game is part of its assumed lineup, whatever the stat.
        priced = PropLine.objects.filter(game_id__in={game for game, _ in upcoming}).values_list("game_id", "player_id")
        upcoming = list(dict.fromkeys([*upcoming, *priced]))
    out: dict[tuple[int, int], np.ndarray] = {}
    if upcoming:
        game_rows = {game: index for index, game in enumerate(games.game_id.tolist())}
        players = dict(Player.objects.filter(pk__in={player for _, player in upcoming}).values_list("pk", "team_id"))
        roles = dict(Player.objects.filter(pk__in=set(players)).values_list("pk", "role"))
        frame = pd.DataFrame(
            {
                "game_id": games.game_id,
                "season": games.season,
                "date": pd.to_datetime(games.game_date),
                "home_team_id": games.home_team_id,
                "away_team_id": games.away_team_id,
            }
        )
        rest = _rest_days(frame).set_index(["game_id", "team_id"])["rest_days"].to_dict()
        kept, columns = [], {name: [] for name in ("game", "player", "team", "opponent", "home", "rest", "role")}
        for game_id, player_id in upcoming:
            index = game_rows.get(game_id)
            team = players.get(player_id)
            if index is None or team is None:
                continue
            home, away = int(games.home_team_id[index]), int(games.away_team_id[index])
            if team not in (home, away):
                continue
            kept.append((game_id, player_id))
            columns["game"].append(game_id)
            columns["player"].append(player_id)
            columns["team"].append(team)
            columns["opponent"].append(away if team == home else home)
            columns["home"].append(team == home)
            columns["rest"].append(rest.get((game_id, team), MAX_REST_DAYS))
            columns["role"].append(roles.get(player_id) or "")
        if kept:
            index = np.array([game_rows[game] for game in columns["game"]])
            n = len(kept)
            extra = StatLines(
                game_id=np.array(columns["game"], np.int64),
                player_id=np.array(columns["player"], np.int64),
                team_id=np.array(columns["team"], np.int64),
                opponent_id=np.array(columns["opponent"], np.int64),
                game_date=games.game_date[index],
                season=games.season[index],
                role=np.array(columns["role"], dtype=lines.role.dtype if len(lines) else str),
                is_home=np.array(columns["home"], bool),
                rest_days=np.array(columns["rest"], np.int64),
                minutes=np.full(n, np.nan),
                stats={code: np.full(n, np.nan) for code in lines.stats},
            )
            first_new = len(lines)
            lines = StatLines(
                **{
                    name: np.concatenate([getattr(lines, name), getattr(extra, name)])
                    for name in ("game_id", "player_id", "team_id", "opponent_id", "game_date", "season")
                    + ("role", "is_home", "rest_days", "minutes")
                },
                stats={code: np.concatenate([lines.stats[code], extra.stats[code]]) for code in lines.stats},
            )
            for offset, key in enumerate(kept):
                row_of[key] = first_new + offset
    wanted = [key for key in targets if key in row_of]
    if not wanted or not len(lines):
        return out
    X = build_game_features(sport, stat, lines, games)
    for key in wanted:
        out[key] = X[row_of[key]]
    return out


def _feature_rows_seasons(*, stat: str, targets: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
    """Feature rows of MLB season props (engine.features.compute_season_features), reading only
    the three seasons before the targets' seasons."""
    from .engine import features as feature_module
    from .engine.features import season_components
    from .engine.lahman import PlayerSeasons, season_feature_inputs

    role = SPORTS["mlb"].stat(stat).roles[0]
    volume = MLB_VOLUME[role]
    season_of = dict(Game.objects.filter(pk__in={game for game, _ in targets}).values_list("pk", "season"))
    targets = [key for key in targets if key[0] in season_of]
    if not targets:
        return {}
    seasons_needed = sorted({season_of[game] - lag for game, _ in targets for lag in (1, 2, 3)})
    rows = StatLine.objects.filter(
        game__sport__code="mlb", game__kind=Game.Kind.SEASON, game__season__in=seasons_needed
    ).values_list("player_id", "game__season", "stats")
    kept = [(player, season, stats) for player, season, stats in rows if volume in stats]
    seasons = PlayerSeasons(
        role=role,
        player_id=np.array([row[0] for row in kept], np.int64),
        name=np.array([""] * len(kept)),
        season=np.array([row[1] for row in kept], np.int64),
        age=np.full(len(kept), np.nan),
        team=np.array([""] * len(kept)),
        opportunities=np.array([row[2][volume] for row in kept], float),
        stats={
            stat: np.array([row[2].get(stat, 0.0) for row in kept], float),
            **{code: np.array([row[2].get(code, np.nan) for row in kept], float) for code in season_components(stat)},
        },
    )
    target_players = np.array([player for _, player in targets], np.int64)
    target_seasons = np.array([season_of[game] for game, _ in targets], np.int64)
    births = dict(Player.objects.filter(pk__in=set(target_players.tolist())).values_list("pk", "birth_date"))
    age = np.array(
        [
            np.nan
            if births.get(int(player)) is None
            else season - births[int(player)].year - (births[int(player)].month >= 7)
            for player, season in zip(target_players, target_seasons, strict=True)
        ],
        float,
    )
    X = feature_module.compute_season_features(
        season_feature_inputs(seasons, stat, target_players, target_seasons, age)
    )
    return {key: X[index] for index, key in enumerate(targets)}


def _game_history_row(*, sport: str, stat: str, game_id: int, player_id: int) -> np.ndarray | None:
    """One game prop's feature row from the player's recent history, in six bounded queries
    (engine.features.serving_game_features): the request path's answer to a feature miss."""
    from django.db.models import Q

    from .engine.features import (
        _GAMES_PLAYED_CAP,
        HISTORY_WINDOW,
        ROSTER_LOOKBACK_GAMES,
        TEAM_WINDOW,
        GameHistory,
        _teammates_out,
        serving_game_features,
    )

    game = (
        Game.objects.filter(pk=game_id, kind=Game.Kind.GAME)
        .values("date", "season", "home_team_id", "away_team_id")
        .first()
    )
    player = Player.objects.filter(pk=player_id).values("team_id", "role").first()
    if game is None or player is None:
        return None
    own_line = StatLine.objects.filter(game_id=game_id, player_id=player_id).values("team_id", "role").first()
    team = own_line["team_id"] if own_line else player["team_id"]
    if team not in (game["home_team_id"], game["away_team_id"]):
        return None
    opponent = game["away_team_id"] if team == game["home_team_id"] else game["home_team_id"]
    date = game["date"]
    history = list(
        StatLine.objects.filter(player_id=player_id, game__kind=Game.Kind.GAME, game__date__lt=date)
        .order_by("-game__date")
        .values_list("game__date", "minutes", "stats")[: int(_GAMES_PLAYED_CAP)]
    )
    recent = history[:HISTORY_WINDOW][::-1]

    def team_games(team_id: int) -> list[tuple]:
        return list(
            Game.objects.filter(Q(home_team_id=team_id) | Q(away_team_id=team_id), kind=Game.Kind.GAME, date__lt=date)
            .order_by("-date", "-id")
            .values_list("id", "date", "season", "pace")[:HISTORY_WINDOW]
        )

    own_games, opponent_games = team_games(team), team_games(opponent)
    facing = StatLine.objects.filter(
        Q(game_id__in=[g[0] for g in opponent_games[:TEAM_WINDOW]], opponent_id=opponent)
        | Q(game_id__in=[g[0] for g in own_games if g[2] == game["season"]][:ROSTER_LOOKBACK_GAMES], team_id=team)
        | Q(game_id=game_id, team_id=team)
    ).values_list("game_id", "player_id", "team_id", "opponent_id", "stats")
    allowed: dict[int, float] = {}
    rosters: dict[int, set] = {}
    lineup: set = set()
    for line_game, line_player, line_team, line_opponent, stats in facing:
        if line_game == game_id and line_team == team:
            lineup.add(line_player)
        elif line_opponent == opponent:
            allowed[line_game] = allowed.get(line_game, 0.0) + float(stats.get(stat, np.nan))
        if line_team == team and line_game != game_id:
            rosters.setdefault(line_game, set()).add(line_player)
    if not lineup:
        # Not played yet: the team's players the books priced stand for the lineup.
        lineup = set(PropLine.objects.filter(game_id=game_id, player__team_id=team).values_list("player_id", flat=True))
    season_games = [g for g in own_games if g[2] == game["season"]]
    recent_rosters = [rosters.get(g[0], set()) for g in season_games[:ROSTER_LOOKBACK_GAMES]][::-1]
    recent_rosters = [roster for roster in recent_rosters if roster]
    roster_players = set().union(*recent_rosters) if recent_rosters else set()
    # Without a lineup (not played, nobody priced) the recent rotation is taken as available.
    active = lineup or roster_players
    roster_minutes: dict[int, list[float]] = {}
    if roster_players - active:
        for line_player, minutes in (
            StatLine.objects.filter(
                player_id__in=roster_players - active, game__kind=Game.Kind.GAME, game__date__lt=date
            )
            .order_by("player_id", "-game__date")
            .values_list("player_id", "minutes")
        ):
            roster_minutes.setdefault(line_player, [])
            if len(roster_minutes[line_player]) < HISTORY_WINDOW:
                roster_minutes[line_player].append(float(minutes) if minutes is not None else np.nan)
    previous = season_games[0][1] if season_games else None
    rest_days = MAX_REST_DAYS if previous is None else min((date - previous).days - 1, MAX_REST_DAYS)
    opponent_window = opponent_games[:TEAM_WINDOW][::-1]
    history_row = GameHistory(
        stat_values=np.array([float(stats.get(stat, np.nan)) for _, _, stats in recent], float),
        minutes=np.array([np.nan if minutes is None else minutes for _, minutes, _ in recent], float),
        game_dates=np.array([day for day, _, _ in recent], dtype="datetime64[D]"),
        opponent_allowed=np.array([allowed.get(g[0], np.nan) for g in opponent_window], float),
        team_pace=np.array([np.nan if g[3] is None else g[3] for g in own_games[:TEAM_WINDOW][::-1]], float),
        opponent_pace=np.array([np.nan if g[3] is None else g[3] for g in opponent_window], float),
        game_date=np.datetime64(date, "D"),
        is_home=team == game["home_team_id"],
        rest_days=int(rest_days),
        teammates_out_minutes=_teammates_out(roster_minutes, recent_rosters, active),
        role=(own_line or {}).get("role") or player["role"],
        games_played_prior=len(history),
    )
    return serving_game_features(sport, [history_row])[0]


def prop_features_store(*, sport: str, stat: str, rows: dict[tuple[int, int], np.ndarray]) -> dict:
    """Store feature rows ((game, player) → row); returns (game, player) → (row, hash)."""
    from .serving import feature_hash

    schema = feature_schema_for(sport, stat)
    stored = {key: (np.asarray(row, np.float64), feature_hash(row)) for key, row in rows.items()}
    if stored:
        adapt = connection.ops.adapt_datetimefield_value
        now = adapt(timezone_now())
        keys = list(stored)
        with transaction.atomic():
            writes.bulk_upsert(
                PropFeatures,
                {
                    "game_id": [game for game, _ in keys],
                    "player_id": [player for _, player in keys],
                    "stat": [stat] * len(keys),
                    "schema_version": [schema.version] * len(keys),
                    "values": [stored[key][0].tobytes() for key in keys],
                    "feature_hash": [stored[key][1] for key in keys],
                    "created_at": [now] * len(keys),
                },
                key=("game_id", "player_id", "stat", "schema_version"),
                scope="game_id",
            )
    return stored


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def prop_features_get(
    *, sport: str, stat: str, targets: list[tuple[int, int]], build: str = "history", logs_cache: dict | None = None
) -> dict[tuple[int, int], tuple[np.ndarray, str]]:
    """(game, player) → (feature row, hash) for the targets: stored rows in one query, the
    rest built (``build="history"``: one row at a time from recent history, bounded queries
    per row, for requests; ``"logs"``: one vectorised pass over the sport's logs, for slates;
    ``"none"``: not built) and stored. Targets without history are left out."""
    schema = feature_schema_for(sport, stat)
    unique = list(dict.fromkeys(targets))
    found: dict[tuple[int, int], tuple[np.ndarray, str]] = {}
    wanted = set(unique)
    game_ids = sorted({game for game, _ in unique})
    few_players = len(wanted) <= 50
    # By game (a slate: every player of its games) in chunks well inside any IN-list limit;
    # a request for a few props also names the players, so it reads only their rows.
    for start in range(0, len(game_ids), 900):
        where = [
            _eq("stat", stat),
            _eq("schema_version", schema.version),
            _in("game_id", game_ids[start : start + 900]),
        ]
        if few_players:
            where.append(_in("player_id", {player for _, player in unique}))
        fields = ("game_id", "player_id", "values", "feature_hash")
        for game, player, values, digest in _select_rows(PropFeatures, fields, all_of=where):
            if (game, player) in wanted:
                found[(game, player)] = (np.frombuffer(bytes(values), dtype=np.float64), digest)
    missing = [key for key in unique if key not in found]
    if missing and build != "none":
        if SPORTS[sport].horizon == "season":
            built = _feature_rows_seasons(stat=stat, targets=missing)
        elif build == "logs":
            built = _feature_rows_game_logs(sport=sport, stat=stat, targets=missing, logs_cache=logs_cache)
        else:
            built = {}
            for game, player in missing:
                row = _game_history_row(sport=sport, stat=stat, game_id=game, player_id=player)
                if row is not None:
                    built[(game, player)] = row
        found.update(prop_features_store(sport=sport, stat=stat, rows=built))
    return found


# --- Predictions: one prop or ten thousand, scored by the in-process service ----------------------

# The most props one batch request may carry (the API answers 413 above it).
PREDICTION_BATCH_LIMIT = 10_000
# Above this many props of one sport/stat a request is scored without the prediction cache:
# 10,000 cache reads and writes cost more than scoring 10,000 rows in one call.
PREDICTION_CACHE_MAX_BATCH = 500


@dataclass
class PropRequest:
    """One validated prop to price: ``player`` and ``game`` are a primary key or an external id;
    a season-horizon sport (MLB) names the ``season`` instead of a game."""

    sport: str
    stat: str
    line: float
    player: int | str
    game: int | str | None = None
    season: int | None = None
    over_decimal_odds: float | None = None
    under_decimal_odds: float | None = None


def _item_error(index: int, code: str, message: str, field_name: str) -> dict:
    return {"index": index, "error": {"code": code, "message": message, "fields": {field_name: [message]}}}


def _select_rows(
    model, fields: tuple[str, ...], *, all_of: list[tuple[str, list]], any_of: list[tuple[str, list]] | None = None
) -> list[tuple]:
    """``fields`` of ``model``'s rows meeting every ``all_of`` clause and, if ``any_of`` is
    given, at least one of its clauses (each an SQL condition on the model's columns with
    ``%s`` placeholders, and its parameters; ``any_of`` clauses without parameters are left
    out, and none left matches nothing). For the lookups of every prediction request: the ORM
    takes longer to build them than the database takes to answer (~0.5 ms against ~0.1 ms
    each; bench/predict.py ``http_single_p50_ms``)."""
    clauses = list(all_of)
    if any_of is not None:
        present = [(sql, params) for sql, params in any_of if params]
        if not present:
            return []
        clauses.append(
            ("(" + " OR ".join(f"({sql})" for sql, _ in present) + ")", [v for _, params in present for v in params])
        )
    sql = _select_head(connection.vendor, model, fields) + " AND ".join(f"({clause})" for clause, _ in clauses)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _, params in clauses for value in params])
        return cursor.fetchall()


@functools.lru_cache(maxsize=64)
def _select_head(vendor: str, model, fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = [model._meta.pk.column if name == "pk" else model._meta.get_field(name).column for name in fields]
    return f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} WHERE "  # noqa: S608 - quoted names from model metadata


# Column names in the clauses below are A1's own (letters and underscores), quoted the same
# way on SQLite and PostgreSQL, so no trip through the connection proxy is needed per clause.
def _quoted(column: str) -> str:
    return f'"{column}"'


def _eq(column: str, value) -> tuple[str, list]:
    return f"{_quoted(column)} = %s", [value]


def _in(column: str, values) -> tuple[str, list]:
    values = list(values)
    return f"{_quoted(column)} IN ({', '.join(['%s'] * len(values))})", values


def _sport_pk(code: str) -> int | None:
    """A sport's primary key, remembered per process like the other resolved names."""
    key = ("sport", code)
    pk = _RESOLVED.get(key)
    if pk is None:
        pk = selectors.sport_id_map().get(code)
        if pk is not None:
            _RESOLVED.set(key, pk)
    return pk


def _resolve_props(requests: list[PropRequest]) -> tuple[list, dict[int, dict], dict, dict]:
    """Natural keys → rows in two queries per sport: (resolved, errors by index, players, games).
    ``resolved`` holds (index, request, game_id, player_id)."""

    by_sport: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        by_sport.setdefault(request.sport, []).append(index)
    players: dict[int, dict] = {}
    games: dict[int, dict] = {}
    resolved, errors = [], {}
    for sport, indexes in by_sport.items():
        definition = SPORTS.get(sport)
        if definition is None:
            for index in indexes:
                errors[index] = _item_error(index, "unknown_sport", f"Unknown sport {sport!r}.", "sport")
            continue
        season_sport = definition.horizon == "season"
        player_pks = {requests[i].player for i in indexes if isinstance(requests[i].player, int)}
        player_exts = {str(requests[i].player) for i in indexes if not isinstance(requests[i].player, int)}
        game_pks = {requests[i].game for i in indexes if isinstance(requests[i].game, int)}
        game_exts = {str(requests[i].game) for i in indexes if isinstance(requests[i].game, str)}
        seasons = {requests[i].season for i in indexes if requests[i].season is not None}
        sport_pk = _sport_pk(sport)
        player_fields = ("pk", "external_id", "name", "team_id", "simulated")
        player_by_pk, player_by_ext = {}, {}
        for values in _select_rows(
            Player,
            player_fields,
            all_of=[_eq("sport_id", sport_pk)],
            any_of=[_in("id", player_pks), _in("external_id", player_exts)],
        ):
            row = dict(zip(player_fields, values, strict=True))
            player_by_pk[row["pk"]] = row
            player_by_ext[row["external_id"]] = row
        season_clause = _in("season", seasons if season_sport else ())
        game_by_pk, game_by_ext, game_by_season = {}, {}, {}
        game_fields = ("pk", "external_id", "kind", "season", "date", "home_team_id", "away_team_id", "simulated")
        for values in _select_rows(
            Game,
            game_fields,
            all_of=[_eq("sport_id", sport_pk)],
            any_of=[
                _in("id", game_pks),
                _in("external_id", game_exts),
                (
                    f"{_quoted('kind')} = %s AND {season_clause[0]}",
                    [Game.Kind.SEASON.value, *season_clause[1]],
                )
                if season_clause[1]
                else ("", []),
            ],
        ):
            row = dict(zip(game_fields, values, strict=True))
            game_by_pk[row["pk"]] = game_by_ext[row["external_id"]] = row
            if row["kind"] == Game.Kind.SEASON:
                game_by_season[row["season"]] = row
        stat_codes = {stat.code for stat in definition.stats}
        for index in indexes:
            request = requests[index]
            if request.stat not in stat_codes:
                errors[index] = _item_error(
                    index,
                    "unknown_stat",
                    f"{sport} has no stat {request.stat!r} ({', '.join(sorted(stat_codes))}).",
                    "stat",
                )
                continue
            player = (
                player_by_pk.get(request.player)
                if isinstance(request.player, int)
                else player_by_ext.get(str(request.player))
            )
            if player is None:
                errors[index] = _item_error(index, "unknown_player", f"No {sport} player {request.player!r}.", "player")
                continue
            if request.game is not None:
                game = game_by_pk.get(request.game) if isinstance(request.game, int) else game_by_ext.get(request.game)
                field_name = "game"
            else:
                game = game_by_season.get(request.season)
                field_name = "season"
            if game is None:
                what = request.game if request.game is not None else request.season
                errors[index] = _item_error(
                    index, f"unknown_{field_name}", f"No {sport} {field_name} {what!r}.", field_name
                )
                continue
            if (game["kind"] == Game.Kind.SEASON) != season_sport:
                errors[index] = _item_error(
                    index,
                    "wrong_horizon",
                    f"{sport} props settle on a {'season' if season_sport else 'game'}; name the "
                    f"{'season' if season_sport else 'game'}.",
                    field_name,
                )
                continue
            players[player["pk"]] = player
            games[game["pk"]] = game
            resolved.append((index, request, game["pk"], player["pk"]))
    return resolved, errors, players, games


class _TTLCache:
    """A small process-local cache (FIFO eviction, per-entry expiry) for what every request
    would otherwise read again: resolved players and games, and feature rows (which never
    change for a game, player, stat and schema)."""

    def __init__(self, *, size: int, ttl_s: float) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._items: dict = {}

    def get(self, key):
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def set(self, key, value) -> None:
        if len(self._items) >= self.size:
            for old in list(self._items)[: max(1, self.size // 10)]:
                self._items.pop(old, None)
        self._items[key] = (time.monotonic() + self.ttl_s, value)

    def clear(self) -> None:
        self._items.clear()


# Names of players and games shown in answers may lag an import by this long in one process.
_RESOLVED = _TTLCache(size=200_000, ttl_s=60.0)
_FEATURE_ROWS = _TTLCache(size=200_000, ttl_s=24 * 3600.0)


def serving_caches_clear() -> None:
    _RESOLVED.clear()
    _FEATURE_ROWS.clear()


def _resolve_cached(requests: list[PropRequest]) -> tuple[list, dict[int, dict], dict, dict]:
    """``_resolve_props`` through the process-local cache (only misses reach the database)."""
    resolved, errors, players, games = [], {}, {}, {}
    missing: list[int] = []
    for index, request in enumerate(requests):
        key = (request.sport, request.stat, request.player, request.game, request.season)
        hit = _RESOLVED.get(key)
        if hit is None:
            missing.append(index)
            continue
        player, game = hit
        players[player["pk"]] = player
        games[game["pk"]] = game
        resolved.append((index, request, game["pk"], player["pk"]))
    if missing:
        found, found_errors, found_players, found_games = _resolve_props([requests[i] for i in missing])
        players.update(found_players)
        games.update(found_games)
        for position, request, game, player in found:
            index = missing[position]
            resolved.append((index, request, game, player))
            _RESOLVED.set(
                (request.sport, request.stat, request.player, request.game, request.season),
                (found_players[player], found_games[game]),
            )
        for position, error in found_errors.items():
            errors[missing[position]] = {**error, "index": missing[position]}
    return resolved, errors, players, games


def _features_cached(*, sport: str, stat: str, targets: list[tuple[int, int]]) -> dict:
    out, missing = {}, []
    for target in targets:
        hit = _FEATURE_ROWS.get((stat, *target))
        if hit is None:
            missing.append(target)
        else:
            out[target] = hit
    if missing:
        for target, value in prop_features_get(sport=sport, stat=stat, targets=missing, build="history").items():
            _FEATURE_ROWS.set((stat, *target), value)
            out[target] = value
    return out


_PREDICTION_COLUMNS = (
    "game_id",
    "player_id",
    "stat",
    "line",
    "over_decimal_odds",
    "under_decimal_odds",
    "model_version_id",
    "weights_id",
    "shadow",
    "source",
    "mean",
    "p_over",
    "p_under",
    "p_push",
    "edge",
    "side",
    "member_probabilities",
    "feature_hash",
    "simulated",
    "created_at",
    "outcome",
)


@functools.lru_cache(maxsize=64)
def _prediction_insert_sql(vendor: str, columns: tuple[str, ...]) -> tuple[str, str, str]:
    """(INSERT head, one row's placeholders, RETURNING clause) for the Prediction table: built
    once per column set, since a single-prop request would otherwise spend longer quoting
    names (each through Django's per-thread connection proxy) than writing its row."""
    quote = connection.ops.quote_name
    by_column = {f.column: f for f in Prediction._meta.concrete_fields}
    row_sql = "(" + ", ".join(writes.placeholder(by_column[name]) for name in columns) + ")"
    head = f"INSERT INTO {quote(Prediction._meta.db_table)} ({', '.join(quote(n) for n in columns)}) VALUES "  # noqa: S608 - quoted names from model metadata; values are parameters
    return head, row_sql, f" RETURNING {quote('id')}"


def _predictions_insert(
    rows: list[tuple], *, columns: tuple[str, ...] = _PREDICTION_COLUMNS, returning: bool = True
) -> list[int]:
    """Insert prediction rows (values in ``columns`` order, JSON as text) in one transaction;
    with ``returning``, multi-row INSERT … RETURNING id gives the ids in order. Model
    instances and ``bulk_create`` cost several times the write itself at 10,000 rows. Without
    ids SQLite takes ``executemany`` of one prepared statement (Django rewrites the
    placeholders of every statement it runs, which costs more than the insert for a
    100,000-value statement)."""
    if not rows:
        return []
    vendor = connection.vendor
    head, row_sql, returning_sql = _prediction_insert_sql(vendor, columns)
    if not returning and vendor != "postgresql":
        sql = head + row_sql
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(rows), writes.WRITE_BATCH_ROWS):
                cursor.executemany(sql, rows[start : start + writes.WRITE_BATCH_ROWS])
        return []
    # PostgreSQL takes 65,535 parameters per statement; SQLite 32,766 since 3.32.
    limit = 60_000 if vendor == "postgresql" else 32_000
    per_statement = max(1, limit // len(columns))
    ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            cursor.execute(
                head + ", ".join([row_sql] * len(batch)) + (returning_sql if returning else ""),
                [value for row in batch for value in row],
            )
            if returning:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


def _answer(
    *, prediction_id, request: PropRequest, result: dict, edge, side, player: dict, game: dict, cached: bool, model
) -> dict:
    return {
        "id": prediction_id,
        "sport": request.sport,
        "stat": request.stat,
        "line": request.line,
        "player": {"id": player["pk"], "external_id": player["external_id"], "name": player["name"]},
        "game": {
            "id": game["pk"],
            "external_id": game["external_id"],
            "kind": game["kind"],
            "season": game["season"],
            "date": game["date"].isoformat(),
        },
        "mean": result["mean"],
        "p_over": result["p_over"],
        "p_under": result["p_under"],
        "p_push": result["p_push"],
        "over_decimal_odds": request.over_decimal_odds,
        "under_decimal_odds": request.under_decimal_odds,
        "edge": edge,
        "side": side,
        "model_version": {"id": model.version_id, "name": model.name, "version": model.version},
        "cached": cached,
        "simulated": bool(game["simulated"] or player["simulated"]),
    }


def predictions_create(*, requests: list[PropRequest], user=None) -> list[dict]:
    """Price props with the production model of each sport/stat. Returns one dict per
    request, in order: ``{"index", "prediction": {...}}`` or ``{"index", "error": {"code",
    "message", "fields"}}``; a bad item gets its own error and nothing is stored for it.

    A computed prediction is stored (one Prediction with the version and weights that made
    it) and cached under the version, weights, feature hash, line and the book's de-vigged
    price (the probabilities are pooled with it; engine.calibration). A cached answer is that
    stored prediction (same ``id``, version and probabilities, ``cached: true``), not stored
    again; the edge is always computed from the odds of the request. Shadow models do not
    score API requests (they score the book's props in ``slate_predict``)."""
    from .serving import book_anchor, edges, service

    resolved, errors, players, games = _resolve_cached(requests)
    groups: dict[tuple[str, str], list] = {}
    for item in resolved:
        groups.setdefault((item[1].sport, item[1].stat), []).append(item)
    out: list[dict | None] = [None] * len(requests)
    inserts: list[tuple] = []
    pending: list[tuple] = []
    now = connection.ops.adapt_datetimefield_value(timezone_now())
    inference = service()
    for (sport, stat), items in groups.items():
        model = inference.production(sport, stat)
        if model is None:
            for index, *_ in items:
                errors[index] = _item_error(index, "no_model", inference.unavailable_reason(sport, stat), "stat")
            continue
        features = _features_cached(sport=sport, stat=stat, targets=[(game, player) for _, _, game, player in items])
        scored = []
        for item in items:
            if (item[2], item[3]) in features:
                scored.append(item)
            else:
                errors[item[0]] = _item_error(
                    item[0],
                    "no_history",
                    "No feature row for this player in this game (no history, or not on either team).",
                    "player",
                )
        if not scored:
            continue
        X = np.vstack([features[(game, player)][0] for _, _, game, player in scored])
        hashes = [features[(game, player)][1] for _, _, game, player in scored]
        lines = [request.line for _, request, _, _ in scored]
        anchors = [book_anchor(r.over_decimal_odds, r.under_decimal_odds) for _, r, _, _ in scored]
        # Large batches skip the prediction cache: scoring a row costs less than a cache round trip.
        use_cache = len(scored) <= PREDICTION_CACHE_MAX_BATCH
        results, cached = inference.predict(
            model, X, lines, hashes, anchors=anchors, use_cache=use_cache, write_cache=False
        )
        over = np.array([np.nan if r.over_decimal_odds is None else r.over_decimal_odds for _, r, _, _ in scored])
        under = np.array([np.nan if r.under_decimal_odds is None else r.under_decimal_odds for _, r, _, _ in scored])
        edge, side = edges([r["p_over"] for r in results], [r["p_under"] for r in results], over, under)
        edge_values = [None if value != value else value for value in edge.tolist()]
        for position, (index, request, game, player) in enumerate(scored):
            result = results[position]
            answer = _answer(
                prediction_id=result.get("id"),
                request=request,
                result=result,
                edge=edge_values[position],
                side=str(side[position]) or None,
                player=players[player],
                game=games[game],
                cached=cached[position],
                model=model,
            )
            out[index] = {"index": index, "prediction": answer}
            if cached[position]:
                continue
            members = orjson.dumps(result["members"]).decode()
            inserts.append(
                (
                    game,
                    player,
                    stat,
                    request.line,
                    request.over_decimal_odds,
                    request.under_decimal_odds,
                    model.version_id,
                    model.weights_id,
                    False,
                    Prediction.Source.API.value,
                    result["mean"],
                    result["p_over"],
                    result["p_under"],
                    result["p_push"],
                    edge_values[position],
                    str(side[position]),
                    members,
                    hashes[position],
                    answer["simulated"],
                    now,
                    "",
                )
            )
            if use_cache:
                pending.append((answer, model.cache_key(hashes[position], request.line, anchors[position]), result))
            else:
                pending.append((answer, None, None))
    ids = _predictions_insert(inserts)
    fresh: dict[str, dict] = {}
    for prediction_id, (answer, key, result) in zip(ids, pending, strict=True):
        answer["id"] = prediction_id
        if key is not None:
            fresh[key] = {**result, "id": prediction_id}
    if fresh:
        inference.remember(fresh)
    for index, error in errors.items():
        out[index] = error
    return out


def prediction_create(*, request: PropRequest, user=None) -> dict:
    """One prop: the prediction dict, or ApplicationError (400/404) naming the bad field."""
    [answer] = predictions_create(requests=[request], user=user)
    if "error" in answer:
        error = answer["error"]
        status = 404 if error["code"] in ("no_model",) else 400
        raise ApplicationError(error["message"], code=error["code"], status_code=status, fields=error["fields"])
    return answer["prediction"]


# --- Slates: every priced prop of a day, scored in one pass ---------------------------------------


def _members_json(scores: dict, kinds: list[str]) -> list[str]:
    """Each row's member probabilities as JSON text ({"xgboost": [p_over, p_under], ...}).

    orjson writes the whole (rows x members·2) matrix in one call, and each row's text is cut
    from it and put into a template: json.dumps per row costs more than scoring the row, and
    orjson or a %r-template per row about twice this (0.3-0.4 s against 0.15-0.2 s for
    115,000 rows). The cut is safe because the text holds only numbers, commas and brackets
    (probabilities are finite), and the numbers are the shortest round-trip form, as repr's."""
    matrix = np.column_stack([scores[f"{kind}_{side}"] for kind in kinds for side in ("p_over", "p_under")])
    if not len(matrix):
        return []
    text = orjson.dumps(np.ascontiguousarray(matrix, dtype=np.float64), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    template = "{" + ",".join(f'"{kind}":[%s,%s]' for kind in kinds) + "}"
    return [template % tuple(row.split(",")) for row in text[2:-2].split("],[")]


def _predictions_upsert(columns: dict) -> tuple[int, int]:
    return writes.bulk_upsert(Prediction, columns, key=("prop_line_id", "model_version_id"), scope="prop_line_id")


def _slate_write(*, model, stat, props, X, hashes, lines, over, under, game_ids, now) -> int:
    """Score and store one model's predictions of a stat's slate props; returns rows written.

    A prop already predicted by this version from the same inputs (weights, line, prices,
    feature row) is left as it is, and a graded one is never rewritten; the rest is scored in
    one call, new rows inserted in multi-row statements, changed ones updated."""
    from .engine.logs import devig_proportional
    from .serving import edges

    stored = {
        row[0]: row[1:]
        for row in Prediction.objects.filter(
            model_version_id=model.version_id, game_id__in=game_ids, stat=stat, prop_line__isnull=False
        ).values_list(
            "prop_line_id", "weights_id", "line", "over_decimal_odds", "under_decimal_odds", "feature_hash", "graded_at"
        )
    }
    todo = []
    for index, prop in enumerate(props):
        old = stored.get(prop[0])
        if old is not None and (
            old[5] is not None or old[:5] == (model.weights_id, prop[4], prop[5], prop[6], hashes[index])
        ):
            continue
        todo.append(index)
    if not todo:
        return 0
    chosen = np.array(todo)
    scores = model.score(X[chosen], lines[chosen], devig_proportional(over[chosen], under[chosen]))
    edge, side = edges(scores["p_over"], scores["p_under"], over[chosen], under[chosen])
    columns = {
        "prop_line_id": [props[i][0] for i in chosen],
        "game_id": [props[i][1] for i in chosen],
        "player_id": [props[i][2] for i in chosen],
        "stat": [stat] * len(chosen),
        "line": lines[chosen].tolist(),
        "over_decimal_odds": over[chosen].tolist(),
        "under_decimal_odds": under[chosen].tolist(),
        "model_version_id": [model.version_id] * len(chosen),
        "weights_id": [model.weights_id] * len(chosen),
        "shadow": [model.shadow] * len(chosen),
        "source": [Prediction.Source.SLATE.value] * len(chosen),
        "mean": scores["mean"].tolist(),
        "p_over": scores["p_over"].tolist(),
        "p_under": scores["p_under"].tolist(),
        "p_push": scores["p_push"].tolist(),
        "edge": writes.floats(edge),
        "side": side.tolist(),
        "member_probabilities": _members_json(scores, model.member_kinds),
        "feature_hash": [hashes[i] for i in chosen],
        "simulated": [bool(props[i][7]) for i in chosen],
        "created_at": [now] * len(chosen),
        "outcome": [""] * len(chosen),
    }
    new = [position for position, i in enumerate(chosen) if props[i][0] not in stored]
    changed = [position for position, i in enumerate(chosen) if props[i][0] in stored]
    names = list(columns)
    # One transaction per stat and model: SQLite would otherwise commit (and sync) per row.
    with transaction.atomic():
        rows = list(zip(*columns.values(), strict=True))
        _predictions_insert(
            rows if len(new) == len(rows) else [rows[p] for p in new], columns=tuple(names), returning=False
        )
        if changed:
            _predictions_upsert({name: [values[p] for p in changed] for name, values in columns.items()})
    return len(chosen)


@gc_paused()
def slate_predict(
    *, sport: str, date, through=None, progress: ProgressFn | None = None, include_shadows: bool = True
) -> dict:
    """Score every priced prop of ``sport`` on ``date`` (to ``through``) with the production
    ensemble of its stat and every active shadow, and store the predictions (one per prop and
    version; re-running updates ungraded ones, graded ones stay as graded).

    Features come from the feature table, missing rows from one vectorised pass over the
    sport's logs; each stat is one model call and one bulk write."""
    from .serving import service

    progress = progress or no_progress
    if sport not in SPORTS:
        raise ApplicationError(f"Unknown sport {sport!r}.", code="unknown_sport", fields={"sport": ["Unknown sport."]})
    through = through or date
    query = (
        PropLine.objects.filter(game__sport__code=sport, game__date__gte=date, game__date__lte=through)
        .order_by("stat", "game_id", "player_id", "id")
        .values_list(
            "pk", "game_id", "player_id", "stat", "line", "over_decimal_odds", "under_decimal_odds", "simulated"
        )
    )
    # The ORM builds the query; the cursor reads the rows: ~100,000 rows through the ORM's
    # per-row converters cost several times the query (``simulated`` stays 0/1 on SQLite).
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    summary = {"sport": sport, "props": len(rows), "scored": 0, "stored": 0, "shadow": 0, "skipped": {}}
    by_stat: dict[str, list] = {}
    for row in rows:
        by_stat.setdefault(row[3], []).append(row)
    inference = service()
    now = connection.ops.adapt_datetimefield_value(timezone_now())
    logs_cache: dict = {}
    for position, (stat, props) in enumerate(sorted(by_stat.items())):
        progress(position / max(len(by_stat), 1), f"{sport} {stat}: {len(props):,} props")
        production, shadows = inference.models_for(sport, stat)
        models_ = ([production] if production else []) + (shadows if include_shadows else [])
        if not models_:
            summary["skipped"][stat] = inference.unavailable_reason(sport, stat)
            continue
        features = prop_features_get(
            sport=sport, stat=stat, targets=[(p[1], p[2]) for p in props], build="logs", logs_cache=logs_cache
        )
        props = [p for p in props if (p[1], p[2]) in features]
        if not props:
            summary["skipped"][stat] = "no features"
            continue
        # One concatenation, not vstack's per-row 2-D views (~0.2 s for 100,000 rows).
        X = np.concatenate([features[(p[1], p[2])][0] for p in props]).reshape(len(props), -1)
        hashes = [features[(p[1], p[2])][1] for p in props]
        lines = np.array([p[4] for p in props], float)
        over = np.array([p[5] for p in props], float)
        under = np.array([p[6] for p in props], float)
        game_ids = {p[1] for p in props}
        for model in models_:
            written = _slate_write(
                model=model,
                stat=stat,
                props=props,
                X=X,
                hashes=hashes,
                lines=lines,
                over=over,
                under=under,
                game_ids=game_ids,
                now=now,
            )
            summary["stored"] += written
            summary["shadow" if model.shadow else "scored"] += len(props)
    progress(1.0, f"{summary['scored']:,} props scored")
    logger.info("slate scored", extra={"summary": summary})
    return summary


def prediction_distribution(*, prediction: Prediction) -> dict | None:
    """The model's predictive distribution of the stat for a stored prediction: the ensemble
    version's member distributions at the prediction's feature row, mixed with the weights it
    was served with. {"values", "probabilities", "family"}; None if the row or model is gone.
    (Line probabilities on the page are the stored ones, which include line calibration.)"""
    from .engine.distributions import log_pmf
    from .serving import service

    schema = feature_schema_for(prediction.game.sport.code, prediction.stat)
    stored = (
        PropFeatures.objects.filter(
            game_id=prediction.game_id,
            player_id=prediction.player_id,
            stat=prediction.stat,
            schema_version=schema.version,
        )
        .values_list("values", flat=True)
        .first()
    )
    if stored is None:
        return None
    ensemble = service().ensemble_for_version(prediction.model_version_id)
    if ensemble is None:
        return None
    kinds = ensemble.member_kinds
    weights = np.asarray(ensemble.weights, float)
    if prediction.weights is not None:
        chosen = np.array([float(prediction.weights.weights.get(kind, 0.0)) for kind in kinds])
        if chosen.sum() > 0:
            weights = chosen / chosen.sum()
    params = ensemble.predict_params(np.frombuffer(bytes(stored), dtype=np.float64).reshape(1, -1))
    high = int(max(np.ceil(prediction.line * 2.2), np.ceil(prediction.mean * 2.5), 10))
    low = 0 if ensemble.family == "negbin" else int(min(np.floor(prediction.mean * -0.2), 0))
    values = np.arange(low, high + 1)
    probabilities = np.zeros(len(values))
    for column, weight in enumerate(weights):
        probabilities += weight * np.exp(
            log_pmf(ensemble.family, params.mean[0, column], params.dispersion[0, column], values)
        )
    return {"values": values.tolist(), "probabilities": probabilities.tolist(), "family": ensemble.family}

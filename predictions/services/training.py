"""Training: datasets from the database, training every planned sport/stat, and registering
the model versions (the registry's candidates) with their metrics and plots."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd

from a1site.core.errors import ApplicationError
from a1site.jobs.selectors import job_get
from a1site.jobs.services import ProgressFn, job_create_queued, job_run
from a1site.registry.selectors import production_version
from a1site.registry.services import model_version_load_artifact, model_version_register

from .. import selectors
from ..engine import training
from ..engine.features import FeatureSchema
from ..engine.models import load_model
from ..engine.sports import SPORTS
from ..signals import models_trained
from .catalogue import no_progress

logger = logging.getLogger(__name__)

# The training task (predictions.tasks), queued by its stable name.
TRAIN_MODELS_TASK = "predictions.train_models"


def dataset_build(*, sport: str, stat: str, seed: int = 0, cache: dict | None = None):
    """The engine's training dataset (engine.training.StatDataset) for one sport/stat, read
    from the database. ``cache`` keeps a sport's logs between its stats."""
    cache = {} if cache is None else cache
    spec = SPORTS[sport].stat(stat)
    if SPORTS[sport].horizon == "season":
        role = spec.roles[0]
        if ("mlb", role) not in cache:
            cache["mlb", role] = selectors.player_seasons(role=role)
        seasons = cache["mlb", role]
        if not len(seasons):
            raise ApplicationError(f"No {sport} {role} seasons in the database.", code="no_data")
        first, last = int(seasons.season.min()) + 3, int(seasons.season.max())
        dataset = training.build_season_dataset(
            seasons, stat, first_target_season=first, last_target_season=last, seed=seed
        )
        # The stored props, not the engine's regenerated ones: what the database holds is what
        # the models are scored against.
        return dataclasses.replace(dataset, props=selectors.season_prop_table(dataset, stat))
    if sport not in cache:
        cache[sport] = selectors.game_logs(sport=sport)
    games, stat_lines, props = cache[sport]
    if not len(stat_lines):
        raise ApplicationError(f"No {sport} stat lines in the database.", code="no_data")
    return training.build_game_dataset(stat_lines, games, props, sport=sport, stat=stat)


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


def model_versions_register(*, result, user) -> list[dict]:
    """Register the XGBoost, torch and ensemble versions of one training result (each with
    its metrics, the members' and baselines' scores, and plots) as candidates."""
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
                "id": version.pk,
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
        registered = model_versions_register(result=result, user=user)
        trained += registered
        _announce_trained(dataset, result, registered)
    progress(1.0, f"{len(trained)} model versions registered")
    return {"trained": trained, "skipped": skipped}


def _announce_trained(dataset, result, registered: list[dict]) -> None:
    """Send ``models_trained`` for the new ensemble with its fit-period rows; a receiver that
    fails is logged and training goes on."""
    ensemble = next((item for item in registered if item["name"].endswith(".ensemble")), None)
    if ensemble is None:
        return
    fit_period = np.asarray(dataset.dates, dtype="datetime64[D]") <= np.datetime64(_as_date(result.data_last_date))
    rows = np.asarray(dataset.X, np.float64)[fit_period]
    for receiver, response in models_trained.send_robust(
        sender=None, ensemble_version_id=ensemble["id"], training_rows=rows
    ):
        if isinstance(response, Exception):
            logger.error(
                "a models_trained receiver failed",
                exc_info=response,
                extra={"receiver": getattr(receiver, "__qualname__", str(receiver)), "version_id": ensemble["id"]},
            )


def models_train_start(*, user, sport: str | None = None, stat: str | None = None, quick: bool = False):
    """Queue training as a job (the task ``predictions.train_models``, queued by name); the job
    shows its progress to ``user``. With the broker unreachable: 503, and no job is left."""
    training_plan(sport=sport, stat=stat)
    params = {"sport": sport, "stat": stat, "quick": quick}
    return job_create_queued(kind="predictions.train_models", owner=user, task=TRAIN_MODELS_TASK, params=params)


def models_train_job(*, job_id: str) -> None:
    """The body of the ``predictions.train_models`` task: run the job's training with progress."""
    job = job_get(job_id=job_id)
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
    version = production_version(name=model_name(sport=sport, stat=stat, kind=kind))
    if version is None:
        return None
    artifact = model_version_load_artifact(version=version)
    schema = FeatureSchema.from_dict(version.feature_schema)
    return version, load_model(artifact, expected_schema=schema)

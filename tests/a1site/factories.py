import datetime as dt

from a1site.registry.services import model_version_register


def register_version(*, name="nba.points.xgboost", artifact=b"model-bytes", user=None, metrics=None, **overrides):
    sport, stat, kind = name.split(".")
    return model_version_register(
        name=name,
        sport=sport,
        stat=stat,
        kind=kind,
        artifact_bytes=artifact,
        feature_schema={"names": ["f1", "f2"], "version": "test"},
        training_data_start=dt.date(2024, 1, 1),
        training_data_end=dt.date(2024, 6, 30),
        metrics=metrics or {"log_loss": 0.69, "brier": 0.25},
        user=user,
        **overrides,
    )

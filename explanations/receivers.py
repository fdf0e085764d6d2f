"""Signal receivers of the explanations app: entry points, connected in ``ExplanationsConfig.ready``."""

from __future__ import annotations

from .services import explaining


def store_background_on_training(sender, *, ensemble_version_id: int, training_rows, **kwargs) -> None:
    """predictions' ``models_trained``: the new ensemble version gets its background sample
    from the rows it was trained on, stored with it at training time."""
    explaining.background_sample_from_training(version_id=ensemble_version_id, rows=training_rows)

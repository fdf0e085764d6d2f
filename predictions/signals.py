"""Signals the predictions app sends, for other apps to act on without being imported here."""

from django.dispatch import Signal

# A sport/stat's models were trained and registered (sent robustly: a receiver's failure is
# logged, never undoes the training). kwargs: ``ensemble_version_id`` (the new ensemble
# version's pk) and ``training_rows`` (its feature rows from the training and validation
# periods, a float64 matrix): what the explanations app samples its background from.
models_trained = Signal()

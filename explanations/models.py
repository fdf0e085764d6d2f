"""What explanations keep per model version: its background sample and its global insight.

Explanations of single predictions live in the Django cache (services), keyed by everything
they depend on; these two tables hold what is computed once per version."""

from django.conf import settings
from django.db import models


class BackgroundSample(models.Model):
    """Rows of a version's training data that DeepExplainer averages over (its first
    ``engine.shapley.DEEP_BACKGROUND_ROWS``), that percentiles and typical values are read
    from, and whose resampling measures the version's explanation stability."""

    class Source(models.TextChoices):
        TRAINING = "training", "Stored at training"
        FIRST_USE = "first_use", "Sampled on first use"

    model_version = models.OneToOneField(
        "registry.ModelVersion", on_delete=models.CASCADE, related_name="explanation_background"
    )
    rows = models.BinaryField(help_text="float64 rows in the version's feature schema order.")
    n_rows = models.PositiveIntegerField()
    n_features = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    data_first_date = models.DateField(null=True, blank=True)
    data_last_date = models.DateField(null=True, blank=True)
    seed = models.IntegerField(default=0)
    stability = models.FloatField(
        null=True, blank=True, help_text="Mean top-3 Jaccard overlap under resampled backgrounds (0-1)."
    )
    stability_rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"background of {self.model_version_id}: {self.n_rows} rows ({self.source})"


class GlobalInsight(models.Model):
    """A version's global view: mean |SHAP| per feature over sampled rows (both outputs) and
    the dependence of the predicted mean on its top features."""

    model_version = models.OneToOneField(
        "registry.ModelVersion", on_delete=models.CASCADE, related_name="explanation_insight"
    )
    n_rows = models.PositiveIntegerField()
    importance = models.JSONField(help_text='[{"feature", "label", "mean_abs_mean", "mean_abs_log"}] sorted.')
    dependence = models.JSONField(help_text='feature → {"x": [...], "shap": [...]} of the top features.')
    additivity_max_error = models.FloatField(help_text="Largest |base + sum - mean| over the rows (stat units).")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    computed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"global insight of {self.model_version_id} ({self.n_rows} rows)"

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        XGBOOST = "xgboost", "XGBoost"
        TORCH = "torch", "PyTorch"
        ENSEMBLE = "ensemble", "Ensemble"

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        PRODUCTION = "production", "Production"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=100, db_index=True, help_text="e.g. nba.points.ensemble")
    sport = models.CharField(max_length=10, db_index=True)
    stat = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    version = models.PositiveIntegerField()
    artifact = models.FileField(upload_to="artifacts/%Y/%m/")
    artifact_sha256 = models.CharField(max_length=64)
    feature_schema = models.JSONField(default=dict, blank=True)
    training_data_start = models.DateField(null=True, blank=True)
    training_data_end = models.DateField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    reliability_plot = models.ImageField(upload_to="plots/%Y/%m/", blank=True)
    importance_plot = models.ImageField(upload_to="plots/%Y/%m/", blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CANDIDATE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="model_version_unique_number"),
            # The invariant "exactly one production version per name" is the database's job.
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status="production"),
                name="model_version_one_production_per_name",
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version} ({self.status})"

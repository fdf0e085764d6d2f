from django.db.models import QuerySet

from .models import ModelVersion


def model_version_list(*, sport: str | None = None, name: str | None = None) -> QuerySet[ModelVersion]:
    queryset = ModelVersion.objects.select_related("created_by", "activated_by")
    if sport:
        queryset = queryset.filter(sport=sport)
    if name:
        queryset = queryset.filter(name=name)
    return queryset


def production_versions(*, sport: str | None = None) -> QuerySet[ModelVersion]:
    return model_version_list(sport=sport).filter(status=ModelVersion.Status.PRODUCTION)


def production_version(*, name: str) -> ModelVersion | None:
    return production_versions().filter(name=name).first()

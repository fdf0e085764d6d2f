"""Reads of the model registry: other apps read model versions here, never through the model."""

from django.db.models import QuerySet

from .models import ModelVersion


def model_version_list(
    *, sport: str | None = None, name: str | None = None, kind: str | None = None
) -> QuerySet[ModelVersion]:
    queryset = ModelVersion.objects.select_related("created_by", "activated_by")
    if sport:
        queryset = queryset.filter(sport=sport)
    if name:
        queryset = queryset.filter(name=name)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def production_versions(*, sport: str | None = None) -> QuerySet[ModelVersion]:
    return model_version_list(sport=sport).filter(status=ModelVersion.Status.PRODUCTION)


def production_version(*, name: str) -> ModelVersion | None:
    return production_versions().filter(name=name).first()


def production_version_ids(*, names) -> dict[str, int]:
    """name → id of the production version of each name that has one (one query)."""
    rows = ModelVersion.objects.filter(name__in=list(names), status=ModelVersion.Status.PRODUCTION)
    return dict(rows.values_list("name", "id"))


def model_version_get(*, version_id: int, kind: str | None = None) -> ModelVersion | None:
    queryset = ModelVersion.objects.filter(pk=version_id)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.first()


def model_versions_by_id(*, version_ids) -> dict[int, ModelVersion]:
    return ModelVersion.objects.in_bulk(list(version_ids))

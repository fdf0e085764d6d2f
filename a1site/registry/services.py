"""Model registry use cases: register, activate, roll back, load (with sha256 verification)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone

from a1site.audit.services import audit_record
from a1site.core.errors import ApplicationError
from a1site.core.metrics import MODEL_LOADS

from .models import ModelVersion

logger = logging.getLogger(__name__)

# Sent after commit with ``name`` and ``version_id`` whenever a production version changes,
# so serving code can swap models without importing this module's internals.
model_version_activated = Signal()


class ArtifactIntegrityError(ApplicationError):
    """A stored artifact is missing or does not match its recorded sha256: never serve it."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _snapshot(version: ModelVersion) -> dict:
    return {
        "name": version.name,
        "version": version.version,
        "status": version.status,
        "artifact_sha256": version.artifact_sha256,
    }


def model_version_register(
    *,
    name: str,
    sport: str,
    stat: str,
    kind: str,
    artifact_bytes: bytes,
    feature_schema: dict,
    training_data_start: dt.date | None,
    training_data_end: dt.date | None,
    metrics: dict,
    user=None,
    plots: dict[str, bytes] | None = None,
    notes: str = "",
    activate_if_first: bool = True,
) -> ModelVersion:
    """Store a new version (next number for ``name``) as a candidate.

    The first version of a name becomes production at once, so a fresh install serves
    something; later versions wait for a person to activate them.
    """
    if kind not in ModelVersion.Kind.values:
        raise ApplicationError(
            f"Unknown model kind {kind!r}; expected one of {ModelVersion.Kind.values}.",
            code="invalid_kind",
            fields={"kind": ["Unknown kind."]},
        )
    if not artifact_bytes:
        raise ApplicationError("The artifact is empty.", code="empty_artifact", fields={"artifact": ["Empty."]})
    digest = sha256_hex(artifact_bytes)
    for attempt in range(3):
        try:
            with transaction.atomic():
                last = ModelVersion.objects.filter(name=name).aggregate(m=Max("version"))["m"] or 0
                version = ModelVersion(
                    name=name,
                    sport=sport,
                    stat=stat,
                    kind=kind,
                    version=last + 1,
                    artifact_sha256=digest,
                    feature_schema=feature_schema,
                    training_data_start=training_data_start,
                    training_data_end=training_data_end,
                    metrics=metrics,
                    created_by=user,
                    notes=notes,
                )
                version.artifact.save(f"{name}-v{last + 1}-{digest[:12]}.bin", ContentFile(artifact_bytes), save=False)
                for field, png in (plots or {}).items():
                    getattr(version, field).save(f"{name}-v{last + 1}-{field}.png", ContentFile(png), save=False)
                version.full_clean()
                version.save()
                audit_record(
                    actor=user,
                    action="model_version.register",
                    obj=version,
                    after=_snapshot(version),
                    details={"metrics": metrics},
                )
                first = last == 0
            break
        except IntegrityError:
            # Two registrations raced for the same number: take the next one.
            if attempt == 2:
                raise
    if first and activate_if_first:
        version = model_version_activate(version_id=version.pk, user=user, reason="first version of this name")
    return version


def model_version_activate(*, version_id: int, user=None, reason: str = "") -> ModelVersion:
    """Make one version production; the previous production version of its name is archived."""
    with transaction.atomic():
        try:
            version = ModelVersion.objects.select_for_update().get(pk=version_id)
        except ModelVersion.DoesNotExist:
            raise ApplicationError(f"Model version {version_id} does not exist.", code="not_found", status_code=404)
        if version.status == ModelVersion.Status.PRODUCTION:
            return version
        # Lock the whole name so two activations of the same name serialise.
        siblings = list(ModelVersion.objects.select_for_update().filter(name=version.name))
        before = [_snapshot(v) for v in siblings if v.status == ModelVersion.Status.PRODUCTION]
        ModelVersion.objects.filter(name=version.name, status=ModelVersion.Status.PRODUCTION).update(
            status=ModelVersion.Status.ARCHIVED
        )
        version.status = ModelVersion.Status.PRODUCTION
        version.activated_at = timezone.now()
        version.activated_by = user if getattr(user, "is_authenticated", False) else None
        version.save(update_fields=["status", "activated_at", "activated_by"])
        audit_record(
            actor=user,
            action="model_version.activate",
            obj=version,
            before={"production": before},
            after=_snapshot(version),
            details={"reason": reason},
        )
        transaction.on_commit(
            lambda: model_version_activated.send(sender=ModelVersion, name=version.name, version_id=version.pk)
        )
    return version


def model_version_rollback(*, name: str, user=None) -> ModelVersion:
    """Re-activate the version that was production before the current one."""
    current = ModelVersion.objects.filter(name=name, status=ModelVersion.Status.PRODUCTION).first()
    previous = (
        ModelVersion.objects.filter(name=name, status=ModelVersion.Status.ARCHIVED, activated_at__isnull=False)
        .exclude(pk=getattr(current, "pk", None))
        .order_by("-activated_at")
        .first()
    )
    if previous is None:
        raise ApplicationError(
            f"{name} has no earlier production version to roll back to.", code="no_previous_version", status_code=409
        )
    return model_version_activate(
        version_id=previous.pk,
        user=user,
        reason=f"rollback from v{current.version}" if current else "rollback",
    )


def model_version_load_artifact(*, version: ModelVersion) -> bytes:
    """The artifact's bytes, only if they still match the recorded sha256."""
    try:
        with version.artifact.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, ValueError) as exc:
        MODEL_LOADS.labels(version.name, "missing").inc()
        logger.error("artifact missing", extra={"model": version.name, "version": version.version})
        raise ArtifactIntegrityError(
            f"Artifact of {version} is missing ({exc}); it will not be served.",
            code="artifact_missing",
            status_code=503,
        ) from exc
    actual = sha256_hex(data)
    if actual != version.artifact_sha256:
        MODEL_LOADS.labels(version.name, "tampered").inc()
        logger.error(
            "artifact sha256 mismatch",
            extra={
                "model": version.name,
                "version": version.version,
                "expected": version.artifact_sha256,
                "actual": actual,
            },
        )
        raise ArtifactIntegrityError(
            f"Artifact of {version} does not match its sha256 (expected {version.artifact_sha256[:12]}…, "
            f"got {actual[:12]}…); it will not be served.",
            code="artifact_tampered",
            status_code=503,
        )
    MODEL_LOADS.labels(version.name, "ok").inc()
    return data

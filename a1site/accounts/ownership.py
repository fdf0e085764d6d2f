"""Per-user data ownership. Another user's object answers 404, never 403, so ids leak nothing."""

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.permissions import BasePermission


def owned_by(queryset: QuerySet, user, *, owner_field: str = "owner") -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(**{owner_field: user})


def get_owned_or_404(queryset: QuerySet, *, user, owner_field: str = "owner", **lookup) -> Model:
    try:
        return owned_by(queryset, user, owner_field=owner_field).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.")


class IsOwner(BasePermission):
    """Object permission for views whose queryset is not already filtered by owner."""

    owner_field = "owner"

    def has_object_permission(self, request, view, obj) -> bool:
        return getattr(obj, f"{self.owner_field}_id", None) == request.user.pk

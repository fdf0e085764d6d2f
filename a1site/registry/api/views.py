from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from .. import selectors, services
from ..models import ModelVersion


class ModelVersionSerializer(serializers.ModelSerializer):
    # Null for versions registered by a command or activated by the system.
    activated_by = serializers.StringRelatedField(allow_null=True)
    created_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "sport",
            "stat",
            "kind",
            "version",
            "status",
            "artifact_sha256",
            "feature_schema",
            "training_data_start",
            "training_data_end",
            "metrics",
            "created_at",
            "created_by",
            "activated_at",
            "activated_by",
        ]
        read_only_fields = fields


class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every signed-in user can read the registry; only staff can activate or roll back."""

    serializer_class = ModelVersionSerializer
    # Only digits route here: /api/model-versions/abc/activate/ is a 404, not int("abc").
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        params = self.request.query_params
        queryset = selectors.model_version_list(sport=params.get("sport"), name=params.get("name"))
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        return queryset

    @extend_schema(request=None, responses=ModelVersionSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAdminUser])
    def activate(self, request, pk=None):
        version = services.model_version_activate(version_id=int(pk), user=request.user, reason="api")
        return Response(ModelVersionSerializer(version).data)

    @extend_schema(request=None, responses=ModelVersionSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAdminUser])
    def rollback(self, request, pk=None):
        version = services.model_version_rollback(name=self.get_object().name, user=request.user)
        return Response(ModelVersionSerializer(version).data)

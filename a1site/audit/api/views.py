from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAdminUser

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_username",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "details",
            "request_id",
        ]
        read_only_fields = fields


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Staff only, read only: there is no way to change or delete an audit event via the API."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAdminUser]
    queryset = AuditEvent.objects.all()

    def get_queryset(self):
        queryset = super().get_queryset()
        for param in ("action", "object_type", "object_id"):
            value = self.request.query_params.get(param)
            if value:
                queryset = queryset.filter(**{param: value})
        return queryset

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from .. import selectors, services
from ..models import Job


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "params",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class JobViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A user sees only their own jobs; another user's job id answers 404."""

    serializer_class = JobSerializer

    def get_queryset(self):
        return selectors.job_list_for_user(user=self.request.user)


class WorkerCheckViewSet(viewsets.GenericViewSet):
    serializer_class = JobSerializer
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={202: JobSerializer}, summary="Start a worker self-check job")
    def create(self, request):
        job = services.worker_check_start(user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from .. import selectors, services
from ..diagnostics import MAX_HOLD_S
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

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # What a person reads is true even when no beat runs: a job whose worker is gone is
        # requeued or failed before it is shown (at most once per JOB_SWEEP_EVERY_S per process).
        services.job_sweep_stale_now_and_then()

    def get_queryset(self):
        return selectors.job_list_for_user(user=self.request.user)


class WorkerCheckSerializer(serializers.Serializer):
    hold_s = serializers.FloatField(
        min_value=0, max_value=MAX_HOLD_S, default=0, help_text="Keep the worker busy this long first."
    )


class WorkerCheckViewSet(viewsets.GenericViewSet):
    serializer_class = JobSerializer
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=WorkerCheckSerializer, responses={202: JobSerializer}, summary="Start a worker self-check job"
    )
    def create(self, request):
        params = WorkerCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job = services.worker_check_start(user=request.user, params=dict(params.validated_data))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

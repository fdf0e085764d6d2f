"""The explanations API: one prediction's explanation, batches, what-if, jobs and plots.
Visible to whoever can see the prediction (anyone signed in; shadow predictions: staff)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from a1site.core.errors import ApplicationError
from a1site.jobs.api.views import JobSerializer

from .. import services
from . import serializers

LEVEL = OpenApiParameter("level", str, description="fast, standard (default), detailed or comprehensive.")


class ExplanationView(APIView):
    @extend_schema(parameters=[LEVEL], summary="Explain a stored prediction (predicted mean and P(over))")
    def get(self, request, prediction_id: int):
        query = serializers.LevelQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            services.explanation_get(
                prediction_id=prediction_id, user=request.user, level=query.validated_data["level"]
            )
        )


class BatchView(APIView):
    @extend_schema(request=serializers.BatchSerializer, summary="Explain up to 1,000 predictions")
    def post(self, request):
        ids = request.data.get("prediction_ids") if isinstance(request.data, dict) else None
        if isinstance(ids, list) and len(ids) > services.BATCH_LIMIT:
            raise ApplicationError(
                f"at most {services.BATCH_LIMIT} predictions per batch; got {len(ids)}",
                code="too_many",
                status_code=413,
                fields={"prediction_ids": [f"at most {services.BATCH_LIMIT}"]},
            )
        body = serializers.BatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            services.explanations_batch(
                prediction_ids=body.validated_data["prediction_ids"],
                user=request.user,
                level=body.validated_data["level"],
            )
        )


class WhatIfView(APIView):
    @extend_schema(request=serializers.WhatIfSerializer, summary="Change feature values; see the price move")
    def post(self, request):
        body = serializers.WhatIfSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            services.what_if(
                prediction_id=body.validated_data["prediction"],
                user=request.user,
                changes=body.validated_data["changes"],
                level=body.validated_data["level"],
            )
        )


class ExplanationJobView(APIView):
    @extend_schema(request=serializers.JobStartSerializer, responses={202: JobSerializer})
    def post(self, request):
        body = serializers.JobStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.explanation_job_start(
            user=request.user, prediction_ids=body.validated_data["prediction_ids"], level=body.validated_data["level"]
        )
        job.refresh_from_db()
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class InsightJobView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=serializers.InsightJobSerializer, responses={202: JobSerializer})
    def post(self, request):
        body = serializers.InsightJobSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.insight_job_start(user=request.user, version_id=body.validated_data["model_version"])
        job.refresh_from_db()
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _image(data: bytes, fmt: str) -> HttpResponse:
    response = HttpResponse(data, content_type=services.PLOT_FORMATS[fmt])
    response["Cache-Control"] = "private, max-age=3600"
    return response


class WaterfallPlotView(APIView):
    @extend_schema(summary="Waterfall plot of a prediction's explanation (png or svg)", responses={200: bytes})
    def get(self, request, prediction_id: int, fmt: str):
        output = request.query_params.get("output", "mean")
        return _image(
            services.plot_waterfall(prediction_id=prediction_id, user=request.user, output=output, fmt=fmt), fmt
        )


class ImportancePlotView(APIView):
    @extend_schema(summary="Global importance bar plot of a model version", responses={200: bytes})
    def get(self, request, version_id: int, fmt: str):
        return _image(services.plot_importance(version_id=version_id, fmt=fmt), fmt)


class DependencePlotView(APIView):
    @extend_schema(summary="Dependence plot of one feature of a model version", responses={200: bytes})
    def get(self, request, version_id: int, feature: str, fmt: str):
        return _image(services.plot_dependence(version_id=version_id, feature=feature, fmt=fmt), fmt)

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from .serializers import (
    AlertPreferenceSerializer,
    GameEventSerializer,
    GameFeedSerializer,
    OddsFeedSerializer,
    OddsTickSerializer,
)


class IsFeeder(BasePermission):
    message = "Only staff or members of the 'feeders' group may post feed data."

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return bool(request.user and request.user.is_authenticated)
        return services.user_is_feeder(request.user)


class OddsFeedView(APIView):
    """POST line/price ticks (staff or 'feeders'); GET the latest stored ticks."""

    permission_classes = [IsAuthenticated, IsFeeder]

    @extend_schema(
        request=OddsFeedSerializer,
        responses={
            201: inline_serializer(
                "OddsIngested", {"ingested": serializers.IntegerField(), "ticks": OddsTickSerializer(many=True)}
            )
        },
    )
    def post(self, request):
        serializer = OddsFeedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = services.odds_ingest(ticks=serializer.validated_data["ticks"], source="api")
        return Response(
            {"ingested": len(rows), "ticks": OddsTickSerializer(rows, many=True).data}, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("sport", str, description="mlb, nba, nfl or nhl."),
            OpenApiParameter("limit", int, description="How many of the latest ticks (default 50)."),
        ],
        responses=inline_serializer("OddsTickList", {"results": OddsTickSerializer(many=True)}),
    )
    def get(self, request):
        try:
            limit = int(request.query_params.get("limit", 50))
        except ValueError:
            limit = 50
        rows = services.recent_ticks(sport=request.query_params.get("sport"), limit=limit)
        return Response({"results": OddsTickSerializer(rows, many=True).data})


class GameEventsView(APIView):
    permission_classes = [IsAuthenticated, IsFeeder]

    @extend_schema(
        request=GameFeedSerializer,
        responses={
            201: inline_serializer(
                "GameEventsIngested", {"ingested": serializers.IntegerField(), "events": GameEventSerializer(many=True)}
            )
        },
    )
    def post(self, request):
        serializer = GameFeedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = services.game_events_ingest(events=serializer.validated_data["events"])
        return Response(
            {"ingested": len(rows), "events": GameEventSerializer(rows, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class AlertPreferenceView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AlertPreferenceSerializer)
    def get(self, request):
        return Response(AlertPreferenceSerializer(services.alert_preference_get(user=request.user)).data)

    @extend_schema(request=AlertPreferenceSerializer, responses=AlertPreferenceSerializer)
    def put(self, request):
        serializer = AlertPreferenceSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        preference = services.alert_preference_update(
            user=request.user,
            min_edge=serializer.validated_data.get("min_edge"),
            steam=serializer.validated_data.get("steam"),
        )
        return Response(AlertPreferenceSerializer(preference).data)

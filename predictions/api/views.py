"""The sports data API: read-only lists for everyone signed in; imports for staff."""

from __future__ import annotations

import datetime as dt
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from a1site.core.errors import error_body
from a1site.core.memory import gc_paused
from a1site.core.parsers import JSONBodyParser
from a1site.core.rowcache import PageCache, RowCache

from .. import selectors, services
from . import serializers


def _query_param(request, name: str, parse, expected: str):
    """The query parameter ``name`` parsed by ``parse``; None when absent; 400 naming it when bad."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return parse(value)
    except ValueError:
        raise exceptions.ValidationError({name: [f"expected {expected}; got {value!r}"]})


def _date_param(request, name: str = "date") -> dt.date | None:
    return _query_param(request, name, dt.date.fromisoformat, "a date as YYYY-MM-DD")


def _int_param(request, name: str) -> int | None:
    return _query_param(request, name, int, "a whole number")


def _float_param(request, name: str) -> float | None:
    return _query_param(request, name, float, "a number")


# Numeric ids only, so /api/games/events/ and the like stay free for other apps' routes.
ID = r"\d+"
SPORT = OpenApiParameter("sport", str, description="Sport code (mlb, nba, nfl, nhl).")
DATE = OpenApiParameter("date", OpenApiTypes.DATE, description="Game day, YYYY-MM-DD.")


class SportViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.SportSerializer
    lookup_field = "code"
    lookup_value_regex = "[a-z]+"
    pagination_class = None

    def get_queryset(self):
        return selectors.sport_list()


@extend_schema(parameters=[SPORT])
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    serializer_class = serializers.TeamSerializer

    def get_queryset(self):
        return selectors.team_list(sport=self.request.query_params.get("sport"))


@extend_schema(
    parameters=[
        SPORT,
        OpenApiParameter("team", str, description="Team external id."),
        OpenApiParameter("search", str, description="Part of the name."),
    ]
)
class PlayerViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    serializer_class = serializers.PlayerSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.player_list(sport=params.get("sport"), team=params.get("team"), search=params.get("search"))


@extend_schema(parameters=[SPORT, DATE, OpenApiParameter("season", int)])
class GameViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    serializer_class = serializers.GameSerializer

    def get_queryset(self):
        return selectors.game_list(
            sport=self.request.query_params.get("sport"),
            date=_date_param(self.request),
            season=_int_param(self.request, "season"),
        )


@extend_schema(
    parameters=[
        SPORT,
        OpenApiParameter("player", str, description="Player external id."),
        OpenApiParameter("game", str, description="Game external id."),
    ]
)
class StatLineViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    serializer_class = serializers.StatLineSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.stat_line_list(sport=params.get("sport"), player=params.get("player"), game=params.get("game"))


# The props list's rendered rows, under each row's version (a1site/core/rowcache.py).
PROP_ROWS = RowCache("props_api")
PROP_PAGES = PageCache("props_api_pages")


@extend_schema(
    parameters=[
        SPORT,
        DATE,
        OpenApiParameter("stat", str),
        OpenApiParameter("book", str),
        OpenApiParameter("player", str, description="Player external id."),
        OpenApiParameter(
            "min_edge", float, description="Only props whose latest prediction has at least this edge (0.05 = 5 %)."
        ),
        OpenApiParameter("sort", str, description="date, -date (default), edge, -edge, p_over, -p_over, player, line."),
    ]
)
class PropLineViewSet(viewsets.ReadOnlyModelViewSet):
    """Book prop lines with their latest prediction and edge, the oracle (simulated data) and
    the result once settled. A page first reads the list's generation: with nothing written
    since the same URL was answered, that answer is given again (one query). Otherwise it
    reads its keys, then every value its rows show; rows rendered before under the same
    values come from the row cache, the rest are read and serialized (nine queries at most,
    whatever the page size)."""

    lookup_value_regex = ID
    serializer_class = serializers.PricedPropSerializer

    def _filters(self) -> dict:
        params = self.request.query_params
        return {
            "sport": params.get("sport"),
            "date": _date_param(self.request),
            "stat": params.get("stat"),
            "min_edge": _float_param(self.request, "min_edge"),
            "sort": params.get("sort") or "-date",
            "player": params.get("player"),
            "book": params.get("book"),
        }

    def get_queryset(self):
        return selectors.priced_prop_list(**self._filters())

    def list(self, request, *args, **kwargs):
        # The whole answer, under its URL (the links name the host) and the list's generation.
        data = selectors.props_list_page(PROP_PAGES, request.build_absolute_uri(), self._render_page)
        return Response(data)

    def _render_page(self) -> dict:
        keys = self.paginate_queryset(selectors.priced_prop_keys(**self._filters()))
        return self.get_paginated_response(selectors.rendered_prop_rows(PROP_ROWS, keys, self._render_rows)).data

    def _render_rows(self, found: list[tuple]) -> list:
        context = {**self.get_serializer_context(), "predictions": {p.pk: p for _, p in found if p is not None}}
        return self.get_serializer_class()([prop for prop, _ in found], many=True, context=context).data

    def get_serializer(self, *args, **kwargs):
        instances = args[0] if args else None
        if instances is not None:
            items = instances if isinstance(instances, list | tuple) else [instances]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["predictions"] = selectors.predictions_by_id([getattr(p, "pred_id", None) for p in items])
        return super().get_serializer(*args, **kwargs)


class PredictionCreateView(APIView):
    """Price one prop with the production model: mean, P(over), P(under), P(push), the edge
    of the better side when odds are given, and the model version. The prediction is stored."""

    @extend_schema(request=serializers.PropRequestSerializer, responses={201: serializers.PredictionSerializer})
    def post(self, request):
        prop, errors = serializers.parse_prop(request.data)
        if errors:
            raise exceptions.ValidationError(errors)
        prediction = services.prediction_create(request=prop)
        return Response(prediction, status=201)


class PredictionBatchView(APIView):
    """Price up to 10,000 props in one request (``{"props": [...]}`` or a bare list). Each
    answer carries its ``index``; a bad item gets its own ``error`` (nothing is stored for
    it) and the others are answered. More than the limit answers 413 with the limit."""

    def dispatch(self, request, *args, **kwargs):
        # Rendered inside the pause too: the answer's 10,000 dicts are part of the burst.
        with gc_paused():
            response = super().dispatch(request, *args, **kwargs)
            if not getattr(response, "is_rendered", True):
                response.render()
        return response

    @extend_schema(
        request=serializers.PropBatchSerializer, responses={200: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        data = request.data
        items = data.get("props") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise exceptions.ValidationError({"props": ['send a JSON list of props, or {"props": [...]}']})
        limit = services.PREDICTION_BATCH_LIMIT
        if len(items) > limit:
            body = error_body(
                code="batch_too_large",
                message=f"A batch holds at most {limit:,} props; this one has {len(items):,}. Split it.",
                fields={"props": [f"at most {limit} items"]},
            )
            body["error"]["limit"] = limit
            return Response(body, status=413)
        return Response(services.predictions_batch(parsed=[serializers.parse_prop(item) for item in items]))


@extend_schema(parameters=[SPORT, OpenApiParameter("game", str, description="Game external id.")])
class ResultViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    serializer_class = serializers.ResultSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.result_list(sport=params.get("sport"), game=params.get("game"))


class CSVParser(BaseParser):
    """A raw ``text/csv`` body: handed on as bytes for the importer to validate."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return io.BytesIO(stream.read() if stream is not None else b"")


def _skip_bad(request) -> bool:
    value = request.query_params.get("skip_bad")
    if value is None and hasattr(request.data, "get"):
        value = request.data.get("skip_bad")
    return str(value or "").lower() in ("1", "true", "yes")


class ImportView(APIView):
    """Staff only. A JSON list of rows, a ``text/csv`` body, or a multipart upload (``file``).

    Formats: docs/importers.md. ``?skip_bad=true`` imports the good rows and reports the rest;
    otherwise one bad row answers 400 ``invalid_rows`` with ``fields`` naming each row and
    column (``"row 12.minutes": ["must be ≥ 0; got -3"]``) and nothing is written.
    """

    permission_classes = [IsAdminUser]
    parser_classes = [JSONBodyParser, CSVParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": {"type": "array", "items": {"type": "object"}},
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
        },
        responses=serializers.ImportReportSerializer,
        parameters=[OpenApiParameter("skip_bad", bool, description="Import the good rows, report the bad ones.")],
    )
    def post(self, request, kind: str):
        skip_bad = _skip_bad(request)
        arguments = {"kind": kind, "user": request.user, "skip_bad": skip_bad}
        data = request.data
        if isinstance(data, list):
            report = services.data_import(records=data, source="api json", **arguments)
        elif isinstance(data, io.BytesIO):
            report = services.data_import(csv_file=data, source="api csv", **arguments)
        elif "file" in request.FILES:
            upload = request.FILES["file"]
            report = services.data_import(csv_file=upload, source=upload.name, total_bytes=upload.size, **arguments)
        else:
            raise exceptions.ValidationError(
                {"body": ["send a JSON list of rows, a text/csv body, or a multipart form with a 'file'"]}
            )
        return Response(serializers.ImportReportSerializer(report.as_dict()).data)

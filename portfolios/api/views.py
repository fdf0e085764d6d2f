"""The portfolio API: owner only; another user's portfolio answers 404."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from . import serializers


def _portfolio(request, portfolio_id):
    portfolio = selectors.portfolio_get(owner=request.user, portfolio_id=portfolio_id)
    if portfolio is None:
        raise Http404
    return portfolio


class PortfolioListView(APIView):
    @extend_schema(responses=serializers.PortfolioSerializer(many=True))
    def get(self, request):
        rows = selectors.portfolio_list(owner=request.user)[:200]
        return Response(serializers.PortfolioSerializer(rows, many=True).data)

    @extend_schema(
        request=serializers.PortfolioCreateSerializer, responses={201: serializers.PortfolioDetailSerializer}
    )
    def post(self, request):
        data = serializers.PortfolioCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        portfolio = services.portfolio_create(
            owner=request.user, **serializers.portfolio_create_arguments(data.validated_data)
        )
        portfolio = selectors.portfolio_get(owner=request.user, portfolio_id=portfolio.pk)
        return Response(serializers.PortfolioDetailSerializer(portfolio).data, status=status.HTTP_201_CREATED)


class PortfolioDetailView(APIView):
    @extend_schema(responses=serializers.PortfolioDetailSerializer)
    def get(self, request, portfolio_id):
        return Response(serializers.PortfolioDetailSerializer(_portfolio(request, portfolio_id)).data)


class RunListView(APIView):
    @extend_schema(responses=serializers.RunSerializer(many=True))
    def get(self, request, portfolio_id):
        portfolio = _portfolio(request, portfolio_id)
        return Response(serializers.RunSerializer(selectors.run_list(portfolio_id=portfolio.pk)[:50], many=True).data)

    @extend_schema(request=None, responses={202: serializers.RunSerializer})
    def post(self, request, portfolio_id):
        portfolio = _portfolio(request, portfolio_id)
        run = services.portfolio_optimize(portfolio=portfolio, user=request.user)
        run.refresh_from_db()
        return Response(serializers.RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailView(APIView):
    @extend_schema(responses=serializers.RunSerializer)
    def get(self, request, portfolio_id, run_id):
        run = selectors.run_get(owner=request.user, portfolio_id=portfolio_id, run_id=run_id)
        if run is None:
            raise Http404
        return Response(serializers.RunSerializer(run).data)


class RunAcceptView(APIView):
    @extend_schema(request=None, responses=serializers.BetSerializer(many=True))
    def post(self, request, portfolio_id, run_id):
        if selectors.run_get(owner=request.user, portfolio_id=portfolio_id, run_id=run_id) is None:
            raise Http404
        bets = services.allocation_accept(run_id=run_id, user=request.user)
        return Response(serializers.BetSerializer(bets, many=True).data)


class BetListView(APIView):
    @extend_schema(responses=serializers.BetListSerializer)
    def get(self, request, portfolio_id):
        portfolio = _portfolio(request, portfolio_id)
        bets = list(selectors.bet_list(portfolio_id=portfolio.pk))
        return Response(
            {
                "bets": serializers.BetSerializer(bets, many=True).data,
                "pnl": services.pnl_summary(bets=bets, bankroll=portfolio.bankroll),
            }
        )

    @extend_schema(request=serializers.BetInSerializer, responses={201: serializers.BetSerializer})
    def post(self, request, portfolio_id):
        portfolio = _portfolio(request, portfolio_id)
        data = serializers.BetInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bet = services.bet_record(portfolio=portfolio, user=request.user, **data.validated_data)
        return Response(serializers.BetSerializer(bet).data, status=status.HTTP_201_CREATED)


class BetSettleView(APIView):
    @extend_schema(request=serializers.SettleSerializer, responses=serializers.BetSerializer)
    def post(self, request, portfolio_id, bet_id):
        _portfolio(request, portfolio_id)
        data = serializers.SettleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bet = services.bet_settle(bet_id=bet_id, user=request.user, status=data.validated_data["status"])
        return Response(serializers.BetSerializer(bet).data)


class BacktestView(APIView):
    @extend_schema(request=serializers.BacktestInSerializer, responses={202: serializers.BacktestQueuedSerializer})
    def post(self, request, portfolio_id):
        portfolio = _portfolio(request, portfolio_id)
        data = serializers.BacktestInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.portfolio_backtest(portfolio=portfolio, user=request.user, **data.validated_data)
        return Response({"job": str(job.pk)}, status=status.HTTP_202_ACCEPTED)

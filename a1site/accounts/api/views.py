from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from a1site.accounts.lockout import lockout_response
from a1site.core.parsers import JSONBodyParser


class TokenView(ObtainAuthToken):
    """POST username + password → ``{"token": key}``; use it as ``Authorization: Token <key>``."""

    permission_classes = [AllowAny]
    # ObtainAuthToken turns throttling off; password guessing is exactly what must be throttled.
    throttle_classes = [AnonRateThrottle, ScopedRateThrottle]
    throttle_scope = "auth"
    # ObtainAuthToken's own list has DRF's JSON parser; JSON goes through the site's instead.
    parser_classes = [JSONBodyParser, FormParser]

    @extend_schema(
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            # django-axes marks the request it was given (this DRF request, not the Django one
            # its middleware sees) when the account or address is locked: answer as the forms do.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request._request)
            raise


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "is_staff": serializers.BooleanField(),
            },
        )
    )
    def get(self, request):
        user = request.user
        return Response({"id": user.pk, "username": user.get_username(), "is_staff": user.is_staff})

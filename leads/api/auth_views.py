"""POST /api/v1/auth/login and /auth/refresh."""
from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenRefreshView

from leads.api.authentication import check_token_schema
from leads.api.serializers import ErrorSerializer, LoginSerializer, TokenPairSerializer
from leads.api.throttling import LoginEmailRateThrottle, LoginRateThrottle
from leads.services.auth import tokens_for_user, user_authenticate_by_email

BAD_CREDENTIALS = "No active account found with the given email and password."


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle, LoginEmailRateThrottle]

    def get_authenticate_header(self, request):
        # Wrong credentials are a 401 (DRF would answer 403 for a view without authenticators).
        return 'Bearer realm="api"'

    @extend_schema(
        summary="Sign in with email and password",
        description="Returns an access and a refresh JWT valid on this tenant's host only.",
        request=LoginSerializer,
        responses={200: TokenPairSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 429: ErrorSerializer},
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_authenticate_by_email(request=request._request, **serializer.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed(BAD_CREDENTIALS, code="bad_credentials")
        return Response(tokens_for_user(user))


class TenantTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        check_token_schema(self.token_class(attrs["refresh"]))
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise exceptions.AuthenticationFailed(BAD_CREDENTIALS, code="bad_credentials") from None


class _RefreshResponse(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted."""

    serializer_class = TenantTokenRefreshSerializer
    authentication_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        summary="Rotate a refresh token",
        responses={200: _RefreshResponse, 401: OpenApiResponse(ErrorSerializer)},
        auth=[],
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

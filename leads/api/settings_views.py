"""Settings API for tenant admins: settings and logo, API keys, users and roles.

Views only parse, call one service and render; rules live in leads.validators and the
services, so admin and the API refuse the same input with the same messages.
"""
from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.errors import error_response
from leads.api.serializers import ErrorSerializer
from leads.models import ApiKey, TenantSettings
from leads.permissions import IsTenantAdmin, request_api_key, user_role
from leads.services.apikeys import ApiKeyInvalid, api_key_create, api_key_revoke
from leads.services.settings import EDITABLE_FIELDS, tenant_settings_update
from leads.services.users import LastAdminError, user_create, user_update

User = get_user_model()


def invalid(errors: dict, detail: str | None = None, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    """The project's error shape: {"detail": ..., "errors": {field: [messages]}}."""
    fields = ", ".join(field for field in errors if field != "non_field_errors")
    return error_response(detail or (f"Invalid input: {fields}." if fields else "Invalid input."), errors, code)


def _django_errors(exc: DjangoValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}


def unknown_fields(data, allowed) -> dict:
    """Field errors for keys that may not be written; a body that is not an object
    (a JSON number, list or string) is one error of its own."""
    if not isinstance(data, Mapping):
        return {"non_field_errors": ["Expected an object with the fields to change."]}
    return {field: ["unknown or read-only field"] for field in data if field not in allowed}


def _actor(request) -> dict:
    api_key = request_api_key(request)
    return {"api_key": api_key, "user": None if api_key else request.user}


# --- settings ------------------------------------------------------------------------------

class SettingsSerializer(serializers.ModelSerializer):
    effective_weights = serializers.SerializerMethodField()
    effective = serializers.SerializerMethodField()
    logo_url = serializers.CharField(read_only=True)

    class Meta:
        model = TenantSettings
        fields = [f for f in EDITABLE_FIELDS if f != "logo"] + ["logo_url", "effective_weights", "effective", "updated_at"]
        read_only_fields = ["updated_at"]

    def get_effective_weights(self, obj) -> dict:
        return obj.weights()

    def get_effective(self, obj) -> dict:
        """What the pipeline uses once global defaults and the environment fill the gaps."""
        return {"enable_enrichment": obj.enrichment_enabled(), "enable_verification": obj.verification_enabled(),
                "retention_days": obj.retention(), "icp_rules": obj.icp()}


WRITABLE_SETTINGS = [f for f in EDITABLE_FIELDS if f != "logo"]


class SettingsView(APIView):
    """GET the tenant's settings; PATCH any of the editable fields (validated, audited)."""

    permission_classes = [IsTenantAdmin]
    serializer_class = SettingsSerializer  # for the OpenAPI schema

    def get(self, request):
        return Response(SettingsSerializer(TenantSettings.current()).data)

    def patch(self, request):
        unknown = unknown_fields(request.data, WRITABLE_SETTINGS)
        if unknown:
            return invalid(unknown)
        serializer = SettingsSerializer(TenantSettings.current(), data=request.data, partial=True)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        try:
            updated = tenant_settings_update(values=dict(serializer.validated_data), **_actor(request))
        except DjangoValidationError as exc:
            return invalid(_django_errors(exc))
        return Response(SettingsSerializer(updated).data)


class LogoView(APIView):
    """PUT a logo (multipart field ``logo``) or DELETE it."""

    permission_classes = [IsTenantAdmin]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = SettingsSerializer

    def put(self, request):
        upload = request.FILES.get("logo")
        if upload is None:
            return invalid({"logo": ["send the image as the multipart field 'logo'"]})
        try:
            updated = tenant_settings_update(values={"logo": upload}, **_actor(request))
        except DjangoValidationError as exc:
            return invalid(_django_errors(exc))
        return Response(SettingsSerializer(updated).data)

    def delete(self, request):
        tenant_settings_update(values={"logo": ""}, **_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- API keys ----------------------------------------------------------------------------------

class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="prefix", read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(), source="scope_list", read_only=True)
    has_expired = serializers.BooleanField(read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        # The primary key embeds the hash: the public id is the prefix.
        fields = ["id", "name", "prefix", "scopes", "created", "expiry_date", "has_expired", "revoked",
                  "last_used_at", "created_by"]

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.email if obj.created_by_id else None


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    scopes = serializers.ListField(child=serializers.CharField(), default=lambda: ["read", "write"])
    expiry_date = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyListView(ListAPIView):
    """GET the tenant's keys (never the key itself); POST creates one and returns it once."""

    permission_classes = [IsTenantAdmin]
    serializer_class = ApiKeySerializer

    def get_queryset(self):
        return ApiKey.objects.select_related("created_by").order_by("-created")

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeySerializer})
    def post(self, request):
        serializer = ApiKeyCreateSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        try:
            key, plain = api_key_create(**serializer.validated_data, **_actor(request))
        except ApiKeyInvalid as exc:
            return invalid(exc.errors)
        body = ApiKeySerializer(key).data
        body["key"] = plain
        body["warning"] = "Store this key now: it is not shown again."
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = ApiKeySerializer

    def get(self, request, prefix):
        return Response(ApiKeySerializer(get_object_or_404(ApiKey, prefix=prefix)).data)

    def delete(self, request, prefix):
        """Revoke: the key stops working at once; the row stays for the audit trail."""
        api_key_revoke(key=get_object_or_404(ApiKey, prefix=prefix), **_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- users and roles -------------------------------------------------------------------------------

class UserSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "is_active", "last_login", "date_joined"]

    def get_role(self, obj) -> str | None:
        return user_role(obj)


class UserCreateSerializer(serializers.Serializer):
    email = serializers.CharField()
    password = serializers.CharField(write_only=True)
    role = serializers.CharField()
    first_name = serializers.CharField(required=False, default="", allow_blank=True)
    last_name = serializers.CharField(required=False, default="", allow_blank=True)


class UserUpdateSerializer(serializers.Serializer):
    role = serializers.CharField(required=False)
    is_active = serializers.BooleanField(required=False)
    first_name = serializers.CharField(required=False, allow_blank=True)
    last_name = serializers.CharField(required=False, allow_blank=True)


def _user_actor(request) -> dict:
    api_key = request_api_key(request)
    return {"api_key": api_key, "actor_user": None if api_key else request.user}


class UserListView(ListAPIView):
    """GET the tenant's users with their roles; POST creates one with a role."""

    permission_classes = [IsTenantAdmin]
    serializer_class = UserSerializer

    def get_queryset(self):
        return User.objects.prefetch_related("groups").order_by("email")

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def post(self, request):
        serializer = UserCreateSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        try:
            user = user_create(**serializer.validated_data, **_user_actor(request))
        except DjangoValidationError as exc:
            return invalid(_django_errors(exc))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


LAST_ADMIN = "the tenant's last active admin cannot be demoted, deactivated or removed"


class UserDetailView(APIView):
    """GET one user; PATCH role, is_active or names; DELETE deactivates."""

    permission_classes = [IsTenantAdmin]
    serializer_class = UserSerializer

    def get(self, request, pk):
        return Response(UserSerializer(get_object_or_404(User, pk=pk)).data)

    @extend_schema(request=UserUpdateSerializer,
                   responses={200: UserSerializer, 409: OpenApiResponse(ErrorSerializer, description=LAST_ADMIN)})
    def patch(self, request, pk):
        user = get_object_or_404(User, pk=pk)
        unknown = unknown_fields(request.data, UserUpdateSerializer().fields)
        if unknown:
            return invalid(unknown)
        serializer = UserUpdateSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        return self._update(request, user, **serializer.validated_data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(ErrorSerializer, description=LAST_ADMIN)})
    def delete(self, request, pk):
        return self._update(request, get_object_or_404(User, pk=pk), is_active=False, status_code=204)

    def _update(self, request, user, status_code=200, **values):
        try:
            user = user_update(user=user, **values, **_user_actor(request))
        except DjangoValidationError as exc:
            return invalid(_django_errors(exc))
        except LastAdminError as exc:
            return invalid({"role": [str(exc)]}, detail=str(exc), code=status.HTTP_409_CONFLICT)
        if status_code == 204:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(UserSerializer(user).data)

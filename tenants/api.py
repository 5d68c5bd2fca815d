"""System API on the public host, for superusers of the public schema: tenants and global defaults."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django_tenants.utils import get_public_schema_name
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.authentication import TenantJWTAuthentication
from leads.api.settings_views import invalid, unknown_fields
from tenants.models import Domain, GlobalDefaults, Tenant
from tenants.selectors import tenant_usage
from tenants.services import TenantError, tenant_create, tenant_set_active, tenant_update, validate_slug


class IsSystemAdmin(BasePermission):
    """A superuser of the public schema, on the public host (tenant superusers live in their
    own schemas and never reach these views: the public host only sees public users)."""

    message = "Only system administrators may use the system API."

    def has_permission(self, request, view):
        tenant = getattr(request, "tenant", None)
        return (tenant is not None and tenant.schema_name == get_public_schema_name()
                and request.user.is_authenticated and request.user.is_superuser)


class SystemView(APIView):
    """Base of the system API: operators sign in with their public-schema session, or with a
    JWT from this host's ``auth/login`` (it carries the public schema, so a tenant's token is
    refused here). API keys belong to tenants: there are none on the public host."""

    authentication_classes = [TenantJWTAuthentication, SessionAuthentication]
    permission_classes = [IsSystemAdmin]


class TenantSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="schema_name", read_only=True)
    domains = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["slug", "name", "plan", "lead_quota", "is_active", "created_on", "domains"]
        read_only_fields = ["is_active", "created_on"]

    def get_domains(self, obj) -> list[str]:
        return [d.domain for d in obj.domains.all()]


class TenantCreateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(required=False, default="", allow_blank=True)
    domain = serializers.CharField()
    admin_email = serializers.EmailField()
    admin_password = serializers.CharField(required=False, allow_blank=True, write_only=True)
    plan = serializers.ChoiceField(choices=Tenant.Plan.choices, default=Tenant.Plan.STARTER)
    lead_quota = serializers.IntegerField(required=False, min_value=0)

    def validate_slug(self, value):
        try:
            validate_slug(value)
        except TenantError as exc:
            raise serializers.ValidationError(str(exc))
        if Tenant.objects.filter(schema_name=value).exists():
            raise serializers.ValidationError(f"slug '{value}' is already taken")
        return value

    def validate_domain(self, value):
        value = value.strip().lower()
        if Domain.objects.filter(domain=value).exists():
            raise serializers.ValidationError(f"domain '{value}' is already taken")
        return value


def _tenants():
    return Tenant.objects.exclude(schema_name=get_public_schema_name()).prefetch_related("domains").order_by("schema_name")


class TenantListView(SystemView):
    """GET every tenant; POST provisions one (schema, domain, first admin)."""


    def get(self, request):
        return Response(TenantSerializer(_tenants(), many=True).data)

    def post(self, request):
        serializer = TenantCreateSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        data = serializer.validated_data
        try:
            result = tenant_create(slug=data["slug"], name=data["name"], domain=data["domain"],
                                   admin_email=data["admin_email"], admin_password=data.get("admin_password") or None,
                                   plan=data["plan"], lead_quota=data.get("lead_quota"))
        except TenantError as exc:
            return invalid({"non_field_errors": [str(exc)]}, detail=str(exc))
        body = TenantSerializer(result.tenant).data
        body["admin_email"] = result.admin_email
        if not data.get("admin_password"):
            body["admin_password"] = result.admin_password  # generated: shown this once
        return Response(body, status=status.HTTP_201_CREATED)


class TenantDetailView(SystemView):
    """GET one tenant; PATCH its name, plan or lead quota."""


    def get(self, request, slug):
        return Response(TenantSerializer(get_object_or_404(_tenants(), schema_name=slug)).data)

    def patch(self, request, slug):
        tenant = get_object_or_404(_tenants(), schema_name=slug)
        unknown = unknown_fields(request.data, {"name", "plan", "lead_quota"})
        if unknown:
            return invalid(unknown)
        serializer = TenantSerializer(tenant, data=request.data, partial=True)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        tenant_update(tenant=tenant, actor=f"system:{request.user.get_username()}", **serializer.validated_data)
        return Response(TenantSerializer(tenant).data)


class TenantActiveView(SystemView):
    """POST /suspend or /reactivate."""

    is_active = True

    def post(self, request, slug):
        tenant = get_object_or_404(_tenants(), schema_name=slug)
        tenant_set_active(tenant=tenant, is_active=self.is_active, actor=f"system:{request.user.get_username()}")
        return Response(TenantSerializer(tenant).data)


class TenantUsageView(SystemView):
    """GET lead counts per status, for one tenant (``/tenants/<slug>/usage``) or all (``/tenants/usage``)."""


    def get(self, request, slug=None):
        tenants = _tenants()
        if slug is not None:
            tenants = [get_object_or_404(tenants, schema_name=slug)]
            return Response(tenant_usage(tenants=tenants)[0])
        return Response(tenant_usage(tenants=list(tenants)))


class GlobalDefaultsSerializer(serializers.ModelSerializer):
    class Meta:
        model = GlobalDefaults
        exclude = ["id"]
        read_only_fields = ["updated_at"]


class GlobalDefaultsView(SystemView):
    """GET/PATCH the defaults every tenant's settings fall back to (validated like tenant settings)."""


    def get(self, request):
        return Response(GlobalDefaultsSerializer(GlobalDefaults.current()).data)

    @transaction.atomic
    def patch(self, request):
        unknown = unknown_fields(request.data, set(GlobalDefaultsSerializer().fields) - {"updated_at"})
        if unknown:
            return invalid(unknown)
        defaults = GlobalDefaults.current()
        serializer = GlobalDefaultsSerializer(defaults, data=request.data, partial=True)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        for field, value in serializer.validated_data.items():
            setattr(defaults, field, value)
        try:
            defaults.full_clean()
        except DjangoValidationError as exc:
            return invalid(exc.message_dict)
        defaults.save()
        return Response(GlobalDefaultsSerializer(defaults).data)

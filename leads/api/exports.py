"""Exports, the suppression list and erasure over the REST API (thin: parse, call a service, render)."""
import os

from django.db import connection
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.schema import paginated
from leads.models import Export, ExportFormat, ExportIssue, SuppressionEntry
from leads.permissions import IsReviewer, IsTenantAdmin
from leads.services.exports import ExportInvalid, export_create, export_start
from leads.services.suppression import SuppressionInvalid, lead_erase, suppression_add

ISSUES_SHOWN = 100


def _invalid(errors: dict, detail: str = "Invalid request.") -> Response:
    return Response({"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def _serializer_errors(serializer) -> Response:
    return _invalid({field: [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
                     for field, messages in serializer.errors.items()})


def _api_key(request):
    return request.auth if getattr(request.auth, "is_api_key", False) else None


def _user(request):
    return request.user if getattr(request.user, "is_authenticated", False) else None


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    destination = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    template = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    filters = serializers.DictField(required=False, default=dict)
    force = serializers.BooleanField(required=False, default=False)
    background = serializers.BooleanField(required=False, allow_null=True, default=None)


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ("id", "format", "destination", "filters", "force", "status", "total_count", "sent_count",
                  "skipped_count", "failed_count", "details", "error_message", "actor", "created_at", "started_at",
                  "finished_at", "download_url")

    def get_download_url(self, export) -> str | None:
        return f"/api/v1/exports/{export.pk}/download" if export.file else None


class ExportIssueSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExportIssue
        fields = ("lead_id", "email", "outcome", "reason")


class ExportListCreate(APIView):
    """GET: the tenant's exports, newest first. POST: export leads (default: approved ones)."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="exports_list", responses=paginated(ExportSerializer, "PaginatedExportList"))
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(Export.objects.order_by("-id"), request, view=self)
        return paginator.get_paginated_response(ExportSerializer(page, many=True).data)

    @extend_schema(operation_id="exports_create", request=ExportRequestSerializer,
                   responses={201: ExportSerializer, 202: ExportSerializer, 400: OpenApiResponse(description="field errors")})
    def post(self, request):
        serializer = ExportRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return _serializer_errors(serializer)
        data = serializer.validated_data
        try:
            export = export_create(format=data["format"], destination=data["destination"], template=data["template"],
                                   filters=data["filters"], force=data["force"], user=_user(request),
                                   api_key=_api_key(request))
        except ExportInvalid as exc:
            return _invalid(exc.errors, "The export request is invalid.")
        queued = export_start(export=export, background=data["background"])
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED if queued else status.HTTP_201_CREATED)


class ExportDetail(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(operation_id="exports_retrieve", responses=ExportSerializer)
    def get(self, request, export_id: int):
        export = Export.objects.filter(pk=export_id).first()
        if export is None:
            raise Http404
        data = ExportSerializer(export).data
        data["issues"] = ExportIssueSerializer(export.issues.all()[:ISSUES_SHOWN], many=True).data
        return Response(data)


class ExportDownload(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(operation_id="exports_download", responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request, export_id: int):
        export = Export.objects.filter(pk=export_id).first()
        # The file must also sit under this tenant's folder (defence in depth).
        if export is None or not export.file or not export.file.name.startswith(f"{connection.schema_name}/"):
            raise Http404
        try:
            handle = export.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        return FileResponse(handle, as_attachment=True, filename=os.path.basename(export.file.name),
                            content_type="text/csv")


class SuppressionSerializer(serializers.ModelSerializer):
    class Meta:
        model = SuppressionEntry
        fields = ("id", "kind", "value", "reason", "created_at")
        read_only_fields = ("id", "created_at")
        # uniqueness is handled by the service (adding twice returns the entry)
        validators = []


class SuppressionListCreate(APIView):
    """GET: the do-not-contact list. POST {kind: email|domain, value, reason}."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="suppressions_list", responses=paginated(SuppressionSerializer, "PaginatedSuppressionList"))
    def get(self, request):
        qs = SuppressionEntry.objects.order_by("-id")
        if request.query_params.get("kind"):
            qs = qs.filter(kind=request.query_params["kind"])
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(SuppressionSerializer(page, many=True).data)

    @extend_schema(operation_id="suppressions_create", request=SuppressionSerializer, responses={201: SuppressionSerializer})
    def post(self, request):
        serializer = SuppressionSerializer(data=request.data)
        if not serializer.is_valid():
            return _serializer_errors(serializer)
        data = serializer.validated_data
        if data["kind"] == SuppressionEntry.Kind.ERASED:
            return _invalid({"kind": ["Use the erasure endpoint to erase a person."]})
        try:
            entry = suppression_add(kind=data["kind"], value=data["value"], reason=data.get("reason", ""),
                                    user=_user(request))
        except SuppressionInvalid as exc:
            return _invalid({"value": [str(exc)]})
        return Response(SuppressionSerializer(entry).data, status=status.HTTP_201_CREATED)


class SuppressionDetail(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(operation_id="suppressions_destroy", responses={204: None, 409: OpenApiResponse(description="erasure record")})
    def delete(self, request, entry_id: int):
        entry = SuppressionEntry.objects.filter(pk=entry_id).first()
        if entry is None:
            raise Http404
        if entry.kind == SuppressionEntry.Kind.ERASED:
            # The hash is all that keeps an erased person from being re-imported.
            return Response({"detail": "An erasure record cannot be removed.", "errors": {}},
                            status=status.HTTP_409_CONFLICT)
        entry.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ErasureSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=320)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class Erasure(APIView):
    """POST {email}: GDPR erasure (tenant admins only)."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(operation_id="erasure_create", request=ErasureSerializer,
                   responses=inline_serializer("ErasureResult", {"erased_leads": serializers.IntegerField()}))
    def post(self, request):
        serializer = ErasureSerializer(data=request.data)
        if not serializer.is_valid():
            return _serializer_errors(serializer)
        try:
            deleted = lead_erase(email=serializer.validated_data["email"], note=serializer.validated_data["note"],
                                 user=_user(request), api_key=_api_key(request))
        except SuppressionInvalid as exc:
            return _invalid({"email": [str(exc)]})
        return Response({"erased_leads": deleted}, status=status.HTTP_200_OK)

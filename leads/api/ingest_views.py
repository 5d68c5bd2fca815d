"""Ingestion endpoints: JSON batch, CSV upload, import progress and refused rows."""
import csv

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, renderers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.errors import error_body
from leads.api.idempotency import run_idempotent
from leads.api.parsers import StrictJSONParser
from leads.api.serializers import (
    BatchResultSerializer,
    DryRunReportSerializer,
    ErrorSerializer,
    ImportBatchSerializer,
    ImportUploadSerializer,
    LeadBatchSerializer,
)
from leads.models import ImportBatch, ImportRowError
from leads.permissions import IsViewer
from leads.services.audit import actor_label
from leads.services.csv_import import CsvError, import_csv
from leads.services.ingest import MAX_BATCH_ROWS, Outcome, ingest_leads, quota_refused, summarize
from leads.textsafety import unstorable_reason

DRY_RUN_PARAM = OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="validate and report, write nothing")


def _flag(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def request_actor(request) -> str:
    auth = getattr(request, "auth", None)
    if getattr(auth, "is_api_key", False):
        return actor_label(api_key=auth)
    return actor_label(user=request.user)


def request_user(request):
    user = request.user
    return user if getattr(user, "pk", None) is not None else None


class LeadBatchView(APIView):
    parser_classes = [StrictJSONParser]  # NUL and lone surrogates: 400 naming the row and field
    permission_classes = [IsViewer]

    @extend_schema(
        summary="Ingest up to 1000 leads",
        description=(
            "Each row is validated on its own; valid rows are stored even when others fail. The answer lists "
            "every row by index with its outcome: created, updated (same source and external_id), duplicate "
            "(with duplicate_of, the surviving lead) or invalid (with field errors). Unknown keys go to "
            "custom_fields. Send an Idempotency-Key header to make retries safe."
        ),
        parameters=[DRY_RUN_PARAM, OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        request=LeadBatchSerializer,
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="body invalid, too many rows, or every row invalid"),
            403: OpenApiResponse(ErrorSerializer, description="lead quota reached (rows listed with errors)"),
            415: ErrorSerializer, 422: ErrorSerializer, 429: ErrorSerializer,
        },
        tags=["ingestion"],
    )
    def post(self, request):
        dry_run = _flag(request.query_params.get("dry_run"))
        return run_idempotent(request, lambda: self._ingest(request, dry_run))

    def _ingest(self, request, dry_run: bool) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError(["Expected an object with 'source' and 'leads'."])
        rows, source = data.get("leads"), data.get("source", "api")
        errors = {}
        if not isinstance(rows, list):
            errors["leads"] = ["Expected a list of lead objects."]
        elif not rows:
            errors["leads"] = ["Send at least one lead."]
        elif len(rows) > MAX_BATCH_ROWS:
            errors["leads"] = [f"At most {MAX_BATCH_ROWS} leads per request; this one has {len(rows)}."]
        if not isinstance(source, str) or not source.strip() or len(source) > 100:
            errors["source"] = ["Expected a non-empty string of at most 100 characters."]
        if errors:
            raise exceptions.ValidationError(errors)
        actor = request_actor(request)
        batch = None
        if not dry_run:
            batch = ImportBatch.objects.create(kind=ImportBatch.Kind.API, source=source.strip(), actor=actor[:100],
                                               created_by=request_user(request))
        results = ingest_leads(rows=rows, source=source, batch=batch, actor=actor, dry_run=dry_run, finish_batch=True)
        summary = summarize(results)
        body = {"batch": batch.pk if batch else None, "source": source.strip(), "dry_run": dry_run,
                "summary": summary, "rows": [r.as_dict() for r in results]}
        refused = quota_refused(results)
        if refused:
            quota = next(r.errors["quota"][0] for r in results if "quota" in r.errors)
            detail = (f"Lead quota reached: the tenant may store {request.tenant.lead_quota} leads; "
                      f"{refused} row{'s' if refused != 1 else ''} refused.")
            return Response(error_body(detail, {"quota": [quota]}, quota=request.tenant.lead_quota,
                                       refused=refused, **body), status=403)
        if summary[Outcome.INVALID] == len(results):
            return Response(error_body("No lead was stored: every row is invalid.",
                                       {"leads": ["Every row is invalid; see rows."]}, **body), status=400)
        return Response(body, status=200)


class LeadImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [IsViewer]

    @extend_schema(
        summary="Import a CSV file of leads",
        description=(
            "Multipart upload with a `file` field (and optional `source`). UTF-8 (with or without BOM), UTF-16 or "
            "Latin-1; comma, semicolon or tab delimited; header names matched with common aliases. The file is "
            "stored in committed chunks; refused rows can be downloaded from errors_url. With dry_run=1 nothing "
            "is written and the answer counts what would happen."
        ),
        parameters=[DRY_RUN_PARAM],
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportBatchSerializer, 200: DryRunReportSerializer, 400: ErrorSerializer,
                   403: ErrorSerializer, 429: ErrorSerializer},
        tags=["ingestion"],
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": ["Upload a CSV file in the 'file' field."]})
        source = str(request.data.get("source") or "csv").strip()[:100] or "csv"
        if unstorable_reason(source):
            raise exceptions.ValidationError({"source": [unstorable_reason(source)]})
        dry_run = _flag(request.query_params.get("dry_run") or request.data.get("dry_run"))
        try:
            report = import_csv(binary=upload, source=source, actor=request_actor(request),
                                filename=upload.name or "", dry_run=dry_run, user=request_user(request))
        except CsvError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from None
        if dry_run:
            return Response(report.as_dict(), status=200)
        body = {**ImportBatchSerializer(report.batch).data, "quota_refused": report.quota_refused}
        if report.quota_refused:
            quota = request.tenant.lead_quota
            detail = (f"Lead quota reached: the tenant may store {quota} leads; "
                      f"{report.quota_refused} row{'s' if report.quota_refused != 1 else ''} refused.")
            return Response(error_body(detail, {"quota": [detail]}, quota=quota, refused=report.quota_refused,
                                       batch=body), status=403)
        return Response(body, status=201)


class ImportListView(generics.ListAPIView):
    permission_classes = [IsViewer]
    serializer_class = ImportBatchSerializer
    queryset = ImportBatch.objects.all()

    @extend_schema(summary="Import batches, newest first", tags=["ingestion"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ImportDetailView(generics.RetrieveAPIView):
    permission_classes = [IsViewer]
    serializer_class = ImportBatchSerializer
    queryset = ImportBatch.objects.all()

    @extend_schema(summary="One import batch with its progress counts", tags=["ingestion"],
                   responses={200: ImportBatchSerializer, 404: ErrorSerializer})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only error answers reach a renderer here (the file itself is streamed).
        return renderers.JSONRenderer().render(data)


class _Echo:
    def write(self, value):
        return value


class ImportErrorsCsvView(APIView):
    permission_classes = [IsViewer]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="Refused rows of an import as CSV",
        description="The rows as received, in their original columns, plus `row` and `error` columns.",
        responses={(200, "text/csv"): OpenApiTypes.STR, 404: ErrorSerializer},
        tags=["ingestion"],
    )
    def get(self, request, pk: int):
        batch = get_object_or_404(ImportBatch, pk=pk)
        columns = list(batch.columns)
        if not columns:  # API batches: the union of the refused rows' keys
            for raw in ImportRowError.objects.filter(batch=batch).values_list("raw", flat=True).iterator():
                columns.extend(k for k in (raw if isinstance(raw, dict) else {}) if k not in columns)
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff"  # lets spreadsheet programs recognise UTF-8
            yield writer.writerow(["row", *columns, "error"])
            queryset = ImportRowError.objects.filter(batch=batch).order_by("row_number").values_list(
                "row_number", "raw", "errors")
            for row_number, raw, errors in queryset.iterator(chunk_size=2000):
                raw = raw if isinstance(raw, dict) else {}
                values = [_cell(raw.get(c, "")) for c in columns]
                extra = {k: v for k, v in raw.items() if k not in columns}
                message = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
                if extra:
                    message += f" (other values: {extra})"
                yield writer.writerow([row_number, *values, message])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
        return response


def _cell(value) -> str:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)



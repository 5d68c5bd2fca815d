"""Pipeline API: queue a filtered run, follow it, process one lead now."""
from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.errors import error_response
from leads.api.serializers import ErrorSerializer
from leads.models import Lead
from leads.permissions import IsReviewer, IsViewer
from leads.services.audit import actor_label
from processing import batch
from processing.api.serializers import PipelineJobSerializer, ProcessedLeadSerializer, ProcessRequestSerializer
from processing.models import PipelineJob


def _actor(request) -> str:
    api_key = request.auth if getattr(request.auth, "is_api_key", False) else None
    return actor_label(user=request.user, api_key=api_key)


def not_found() -> Response:
    return Response({"detail": "Not found.", "errors": {}}, status=http.HTTP_404_NOT_FOUND)


def invalid(errors) -> Response:
    return error_response("Invalid input.", errors)


class ProcessView(APIView):
    """POST: queue the leads matching the filters; 202 with the job id and how many were queued."""

    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="pipeline_process_batch", summary="Queue the leads matching the filters",
        request=ProcessRequestSerializer, tags=["pipeline"],
        responses={202: inline_serializer("JobQueued", {"job_id": serializers.IntegerField(),
                                                        "queued": serializers.IntegerField(),
                                                        "status": serializers.CharField(),
                                                        "url": serializers.URLField()}),
                   400: ErrorSerializer},
    )
    def post(self, request):
        serializer = ProcessRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid(serializer.errors)
        data = serializer.validated_data
        filters = batch.JobFilters(
            statuses=data["status"], source=data.get("source", ""), ids=data.get("ids"),
            created_after=data.get("created_after"), created_before=data.get("created_before"),
            limit=data.get("limit"),
        )
        job = batch.job_start(schema=connection.schema_name, filters=filters, actor=_actor(request))
        return Response(
            {"job_id": job.pk, "queued": job.queued, "status": job.status,
             "url": request.build_absolute_uri(f"/api/v1/pipeline/jobs/{job.pk}")},
            status=http.HTTP_202_ACCEPTED,
        )


class JobView(APIView):
    """GET: a job's progress."""

    permission_classes = [IsViewer]

    @extend_schema(summary="A pipeline job's progress", tags=["pipeline"],
                   responses={200: PipelineJobSerializer, 404: ErrorSerializer})
    def get(self, request, job_id: int):
        batch.mark_stalled_jobs(job_ids=[job_id])  # the schedule may not come round for hours
        job = PipelineJob.objects.filter(pk=job_id).first()
        if job is None:
            return not_found()
        return Response(PipelineJobSerializer(job).data)


class ProcessOneView(APIView):
    """POST: run the pipeline on one lead now and return it."""

    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="pipeline_process_one", summary="Run the pipeline on one lead now", request=None,
        tags=["pipeline"],
        responses={200: ProcessedLeadSerializer, 404: ErrorSerializer,
                   409: OpenApiResponse(ErrorSerializer, description="reviewed, archived, or held by a worker")},
    )
    def post(self, request, lead_id: int):
        try:
            lead = batch.process_one_now(lead_id=lead_id, actor=_actor(request))
        except Lead.DoesNotExist:
            return not_found()
        except (batch.NothingToProcess, batch.LeadBusy) as exc:
            return Response({"detail": str(exc), "errors": {}}, status=http.HTTP_409_CONFLICT)
        return Response(ProcessedLeadSerializer(lead).data)


class StatusView(APIView):
    """GET: database, cache, broker, cluster, schedules and this tenant's lead counts."""

    permission_classes = [IsViewer]

    @extend_schema(summary="Database, cache, broker, cluster, schedules and lead counts", tags=["pipeline"],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        from processing.status import system_status

        return Response(system_status())

"""Reading and changing leads: list, detail, inline edit, review."""
from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.filters import LeadFilter
from leads.api.serializers import (
    ErrorSerializer,
    LeadDetailSerializer,
    LeadEditSerializer,
    LeadSerializer,
    ReviewSerializer,
)
from leads.models import AuditEvent, Lead
from leads.permissions import IsReviewer, IsViewer
from leads.services.edit import lead_update_contact
from leads.services.review import lead_review


class LeadPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _auth_parts(request) -> dict:
    auth = getattr(request, "auth", None)
    if getattr(auth, "is_api_key", False):
        return {"api_key": auth}
    return {"user": request.user}


class LeadListView(generics.ListAPIView):
    permission_classes = [IsViewer]
    serializer_class = LeadSerializer
    pagination_class = LeadPagination
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = LeadFilter
    ordering_fields = ["id", "created_at", "updated_at", "score", "status", "email", "company", "source"]
    ordering = ["-id"]
    queryset = Lead.objects.all()

    @extend_schema(summary="List leads (paginated, filterable, orderable)", tags=["leads"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _detail_queryset():
    return Lead.objects.prefetch_related(
        Prefetch("events", queryset=AuditEvent.objects.order_by("-created_at", "-id")),
        Prefetch("duplicates", queryset=Lead.objects.order_by("id")),
    )


class LeadDetailView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(summary="One lead with its history and merged duplicates", tags=["leads"],
                   responses={200: LeadDetailSerializer, 404: ErrorSerializer})
    def get(self, request, pk: int):
        lead = _detail_queryset().get(pk=pk)  # DoesNotExist -> 404 in the error handler
        return Response(LeadDetailSerializer(lead).data)

    @extend_schema(
        summary="Edit contact fields",
        description="Only contact fields and custom_fields (merged) can be changed; naming any other field "
                    "is a 400 that names it. The edit is recorded in the lead's history with before/after values.",
        request=LeadEditSerializer,
        responses={200: LeadDetailSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        tags=["leads"],
    )
    def patch(self, request, pk: int):
        Lead.objects.only("pk").get(pk=pk)
        serializer = LeadEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead_update_contact(lead_id=pk, changes=serializer.validated_data, **_auth_parts(request))
        return Response(LeadDetailSerializer(_detail_queryset().get(pk=pk)).data)


class LeadReviewView(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Approve or reject a lead waiting for review",
        request=ReviewSerializer,
        responses={200: LeadSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
                   409: OpenApiResponse(ErrorSerializer, description="the lead is not in pending_review")},
        tags=["leads"],
    )
    def put(self, request, pk: int):
        # An id that is not this tenant's is "not found" whatever the body says: validating the
        # body first would answer 400 for another tenant's id and 404 only for a well-formed one.
        if not Lead.objects.filter(pk=pk).exists():
            raise NotFound("No such lead.")
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead = lead_review(lead_id=pk, **serializer.validated_data, **_auth_parts(request))
        return Response(LeadSerializer(lead).data)

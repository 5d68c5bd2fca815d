"""Filters of ``GET /api/v1/leads``."""
from datetime import timezone as dt_timezone

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from leads.models import Lead, LeadStatus


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time converted to UTC. Python accepts offsets up to ±23:59, PostgreSQL
    only up to ±15:59: sent as given, an offset such as -17:06 fails inside the query (a 500)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(dt_timezone.utc)
        except OverflowError:  # year 1 or 9999 pushed out of range by its offset
            raise ValidationError("Date-time out of range.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class LeadFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices,
                                                 help_text="repeat or comma-separate for several")
    source = django_filters.CharFilter()
    batch = django_filters.NumberFilter(field_name="batch_id")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="search", help_text="searches email, names and company")

    class Meta:
        model = Lead
        fields = ["status", "source", "batch"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "status" in data:
            data = data.copy()
            values = [v for item in data.getlist("status") for v in item.split(",") if v]
            data.setlist("status", values)
        super().__init__(data, *args, **kwargs)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(email__icontains=value) | Q(full_name__icontains=value) | Q(first_name__icontains=value)
            | Q(last_name__icontains=value) | Q(company__icontains=value)
        )

"""Filters of ``GET /api/v1/leads``."""
import django_filters
from django.db.models import Q

from leads.models import Lead, LeadStatus


class LeadFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices,
                                                 help_text="repeat or comma-separate for several")
    source = django_filters.CharFilter()
    batch = django_filters.NumberFilter(field_name="batch_id")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
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

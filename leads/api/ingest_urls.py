"""Routes of ingestion, leads and authentication (mounted at /api/v1/)."""
from django.urls import path

from leads.api import auth_views, ingest_views, lead_views

urlpatterns = [
    path("auth/login", auth_views.LoginView.as_view(), name="api-login"),
    path("auth/refresh", auth_views.RefreshView.as_view(), name="api-refresh"),
    path("leads/batch", ingest_views.LeadBatchView.as_view(), name="api-leads-batch"),
    path("leads/import", ingest_views.LeadImportView.as_view(), name="api-leads-import"),
    path("leads", lead_views.LeadListView.as_view(), name="api-leads"),
    path("leads/<int:pk>", lead_views.LeadDetailView.as_view(), name="api-lead"),
    path("leads/<int:pk>/review", lead_views.LeadReviewView.as_view(), name="api-lead-review"),
    path("imports", ingest_views.ImportListView.as_view(), name="api-imports"),
    path("imports/<int:pk>", ingest_views.ImportDetailView.as_view(), name="api-import"),
    path("imports/<int:pk>/errors.csv", ingest_views.ImportErrorsCsvView.as_view(), name="api-import-errors"),
]

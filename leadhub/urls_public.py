"""URLs of the public schema: the system admin and the health page."""
from django.contrib import admin
from django.urls import include, path

from leadhub import views
from processing.metrics import metrics_view

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # System API for the operator (superusers of the public schema).
    path("api/v1/", include("tenants.api_urls")),
    path("", views.public_home, name="public-home"),
]

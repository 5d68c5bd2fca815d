from django.urls import path

from leads.api.auth_views import LoginView, RefreshView
from tenants import api

urlpatterns = [
    # The tenant hosts' sign-in, here for the operators: tokens carry the public schema
    # and are refused on every tenant host, as tenants' tokens are here.
    path("auth/login", LoginView.as_view(), name="system-login"),
    path("auth/refresh", RefreshView.as_view(), name="system-refresh"),
    path("tenants", api.TenantListView.as_view(), name="system-tenants"),
    path("tenants/usage", api.TenantUsageView.as_view(), name="system-usage"),
    path("tenants/<str:slug>", api.TenantDetailView.as_view(), name="system-tenant"),
    path("tenants/<str:slug>/suspend", api.TenantActiveView.as_view(is_active=False), name="system-tenant-suspend"),
    path("tenants/<str:slug>/reactivate", api.TenantActiveView.as_view(is_active=True), name="system-tenant-reactivate"),
    path("tenants/<str:slug>/usage", api.TenantUsageView.as_view(), name="system-tenant-usage"),
    path("global-defaults", api.GlobalDefaultsView.as_view(), name="system-global-defaults"),
]

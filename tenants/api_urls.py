from django.urls import path

from tenants import api

urlpatterns = [
    path("tenants", api.TenantListView.as_view(), name="system-tenants"),
    path("tenants/usage", api.TenantUsageView.as_view(), name="system-usage"),
    path("tenants/<str:slug>", api.TenantDetailView.as_view(), name="system-tenant"),
    path("tenants/<str:slug>/suspend", api.TenantActiveView.as_view(is_active=False), name="system-tenant-suspend"),
    path("tenants/<str:slug>/reactivate", api.TenantActiveView.as_view(is_active=True), name="system-tenant-reactivate"),
    path("tenants/<str:slug>/usage", api.TenantUsageView.as_view(), name="system-tenant-usage"),
    path("global-defaults", api.GlobalDefaultsView.as_view(), name="system-global-defaults"),
]

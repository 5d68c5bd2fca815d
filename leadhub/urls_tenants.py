"""URLs of a tenant host (``<slug>.localhost``)."""
from django.contrib import admin
from django.urls import include, path

from leadhub import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("leads.api.urls")),
    path("", include("leads.urls")),
]

# JSON errors for the API, pages for the rest (see leadhub.views.not_found).
handler404 = "leadhub.views.not_found"
handler500 = "leadhub.views.server_error"

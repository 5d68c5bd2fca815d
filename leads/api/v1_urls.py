from django.urls import include, path

urlpatterns = [
    path("", include("leads.api.exports_urls")),
    path("", include("leads.api.ingest_urls")),
    path("", include("leads.api.settings_urls")),
    path("", include("processing.api.urls")),
]

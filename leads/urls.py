from django.urls import include, path

urlpatterns = [
    path("", include("leads.branding_urls")),
    path("", include("leads.page_urls")),
]

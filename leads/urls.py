from django.urls import include, path

urlpatterns = [
    path("", include("leads.page_urls")),
]

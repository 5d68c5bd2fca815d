from django.urls import include, path

urlpatterns = [
    path("", include("processing.api.urls")),
]

from django.urls import include, path

from leads import views

urlpatterns = [
    path("", include("leads.branding_urls")),
    path("", views.home, name="home"),
]

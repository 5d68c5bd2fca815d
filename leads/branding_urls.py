from django.urls import path

from leads import branding_views

urlpatterns = [
    path("branding/logo", branding_views.logo, name="branding-logo"),
]

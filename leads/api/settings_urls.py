from django.urls import path

from leads.api import settings_views as views

urlpatterns = [
    path("settings", views.SettingsView.as_view(), name="api-settings"),
    path("settings/logo", views.LogoView.as_view(), name="api-settings-logo"),
    path("api-keys", views.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:prefix>", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("users", views.UserListView.as_view(), name="api-users"),
    path("users/<int:pk>", views.UserDetailView.as_view(), name="api-user-detail"),
]

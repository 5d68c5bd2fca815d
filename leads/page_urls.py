"""The review pages of a tenant host."""
from django.urls import path

from leads import views

urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.sign_in, name="signin"),
    path("logout/", views.sign_out, name="signout"),
    path("queue/rows", views.queue_rows, name="queue-rows"),
    path("queue/review", views.queue_bulk_review, name="queue-bulk-review"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/review", views.lead_review_view, name="lead-review"),
    path("leads/<int:lead_id>/edit", views.lead_edit, name="lead-edit"),
    path("leads/<int:lead_id>/unmerge/<int:duplicate_id>", views.lead_unmerge, name="lead-unmerge"),
    path("analytics/", views.analytics, name="analytics"),
    path("analytics/<slug:table>.csv", views.analytics_csv, name="analytics-csv"),
]

from django.urls import path

from processing.api import views

urlpatterns = [
    path("pipeline/process", views.ProcessView.as_view(), name="pipeline-process"),
    path("pipeline/process/<int:lead_id>", views.ProcessOneView.as_view(), name="pipeline-process-one"),
    path("pipeline/jobs/<int:job_id>", views.JobView.as_view(), name="pipeline-job"),
    path("status", views.StatusView.as_view(), name="status"),
]

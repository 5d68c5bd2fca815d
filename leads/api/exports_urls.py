from django.urls import path

from leads.api import exports

urlpatterns = [
    path("exports", exports.ExportListCreate.as_view(), name="exports"),
    path("exports/<int:export_id>", exports.ExportDetail.as_view(), name="export-detail"),
    path("exports/<int:export_id>/download", exports.ExportDownload.as_view(), name="export-download"),
    path("suppressions", exports.SuppressionListCreate.as_view(), name="suppressions"),
    path("suppressions/<int:entry_id>", exports.SuppressionDetail.as_view(), name="suppression-detail"),
    path("erasure", exports.Erasure.as_view(), name="erasure"),
]

# One module per topic; import every model here so Django finds it.
from leads.models.apikey import ApiKey  # noqa: F401
from leads.models.audit import AuditEvent  # noqa: F401
from leads.models.batch import ImportBatch, ImportRowError  # noqa: F401
from leads.models.lead import Lead, LeadStatus  # noqa: F401
from leads.models.settings import TenantSettings  # noqa: F401
from leads.models.exports import (  # noqa: F401
    CsvTemplate, CsvTemplateColumn, Export, ExportCandidate, ExportFormat, ExportIssue, ExportSettings, LeadDelivery, SuppressionEntry,
)
from leads.models.idempotency import IdempotentRequest  # noqa: F401

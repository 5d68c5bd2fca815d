"""Exports: where approved leads went, what was refused, and the tenant's destinations.

A lead is sent to a destination at most once: ``LeadDelivery`` holds one row per
(lead, destination) and every export skips leads that already have one, unless forced.
"""
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from leadhub.crypto import EncryptedTextField


class ExportFormat(models.TextChoices):
    INSTANTLY_CSV = "instantly_csv", "Instantly CSV"
    INSTANTLY = "instantly", "Instantly API"
    SMARTLEAD = "smartlead", "Smartlead API"
    SALESFORCE = "salesforce", "Salesforce API"
    CSV = "csv", "Custom CSV template"


# Formats that produce a downloadable file; the others push to an API.
FILE_FORMATS = (ExportFormat.INSTANTLY_CSV, ExportFormat.CSV)


def export_file_path(instance, filename: str) -> str:
    """Files live under the tenant's schema name, so one tenant's path never names another's."""
    from django.db import connection

    return f"{connection.schema_name}/exports/{filename}"


class Export(models.Model):
    """One export run and its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    format = models.CharField(max_length=20, choices=ExportFormat.choices)
    destination = models.CharField(max_length=200, help_text="format:target, the key leads are deduplicated on")
    template = models.ForeignKey("leads.CsvTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="exports")
    filters = models.JSONField(default=dict, blank=True)
    force = models.BooleanField(default=False, help_text="send leads again even if already sent to this destination")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_count = models.PositiveIntegerField(default=0, help_text="leads matched by the filters")
    sent_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True, help_text="destination counters, e.g. Smartlead added/skipped")
    error_message = models.TextField(blank=True, default="")
    file = models.FileField(upload_to=export_file_path, max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Export {self.pk} ({self.format} -> {self.destination})"


class ExportIssue(models.Model):
    """A lead an export skipped or failed to send, with the reason.

    ``lead_id`` is a plain number, not a foreign key, so the history survives the lead."""

    class Outcome(models.TextChoices):
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="issues")
    lead_id = models.BigIntegerField(null=True, blank=True)
    email = models.CharField(max_length=320, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField()

    class Meta:
        ordering = ["export", "id"]
        indexes = [models.Index(fields=["lead_id"], name="export_issue_lead_idx")]


class LeadDelivery(models.Model):
    """The lead was sent to this destination (by the last export that sent it).

    Both references are kept by Django, not by database constraints: deleting a lead
    deletes its deliveries and deleting an export clears theirs (on_delete, which
    Django applies itself), and nothing deletes leads or exports in raw SQL. A
    constraint would cost every export a deferred check per lead and reference at
    commit (two of them: ~0.6 s of a 100,000-lead export)."""

    # No index of its own: the unique (lead, destination) index serves lookups by lead.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="deliveries", db_index=False,
                             db_constraint=False)
    destination = models.CharField(max_length=200)
    # No index either: only deleting an export looks deliveries up by export (one scan,
    # rare), while every delivery recorded would pay for the index entry.
    export = models.ForeignKey(Export, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
                               db_index=False, db_constraint=False)
    remote_id = models.CharField(max_length=100, blank=True, default="")
    delivered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "destination"], name="lead_delivery_uniq")]
        verbose_name_plural = "lead deliveries"


class ExportCandidate(models.Model):
    """The leads an API export is working through (its frozen snapshot), deleted when it ends.

    A real table rather than a temporary one: an API export spans many transactions,
    and session state does not survive a transaction-pooling connection pooler."""

    # The unique (export, lead_id) index serves lookups by export.
    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="+", db_index=False)
    lead_id = models.BigIntegerField()
    skip_reason = models.TextField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "lead_id"], name="export_candidate_uniq")]


class CsvTemplate(models.Model):
    """A tenant's own CSV layout: ordered columns, delimiter and encoding."""

    class Encoding(models.TextChoices):
        UTF8 = "utf-8", "UTF-8"
        UTF8_BOM = "utf-8-sig", "UTF-8 with BOM (Excel)"
        CP1252 = "cp1252", "Windows-1252 (Western European)"
        LATIN1 = "latin-1", "ISO-8859-1"

    name = models.CharField(max_length=100, unique=True)
    delimiter = models.CharField(max_length=2, default=",", help_text="',' ';' or '\\t' for a tab")
    encoding = models.CharField(max_length=10, choices=Encoding.choices, default=Encoding.UTF8)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.real_delimiter() not in (",", ";", "\t", "|"):
            raise ValidationError({"delimiter": "Use ',', ';', '|' or '\\t' (tab)."})

    def real_delimiter(self) -> str:
        return "\t" if self.delimiter in ("\\t", "\t", "tab") else self.delimiter


class CsvTemplateColumn(models.Model):
    """One column: its header, the lead field it reads, and the value used when that is empty.

    ``field`` is a lead field name (see leads.exports.fields.EXPORT_FIELDS) or
    ``custom_fields.<key>`` for a custom field."""

    template = models.ForeignKey(CsvTemplate, on_delete=models.CASCADE, related_name="columns")
    position = models.PositiveSmallIntegerField(default=0)
    header = models.CharField(max_length=100)
    field = models.CharField(max_length=120)
    default = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self):
        return f"{self.header} <- {self.field}"

    def clean(self):
        from leads.exports.fields import validate_field_name

        message = validate_field_name(self.field)
        if message:
            raise ValidationError({"field": message})


class SuppressionEntry(models.Model):
    """Do not contact: an email, a whole email domain, or the hash of an erased email."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        DOMAIN = "domain", "Domain"
        ERASED = "erased", "Erased email (SHA-256)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=320, help_text="lower-case email or domain; hex SHA-256 for erased emails")
    reason = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="suppression_kind_value_uniq")]
        verbose_name_plural = "suppression entries"

    def __str__(self):
        return f"{self.kind}: {self.value}"

    def clean(self):
        if self.kind == self.Kind.ERASED:
            if not re.fullmatch(r"[0-9a-f]{64}", self.value or ""):
                raise ValidationError({"kind": "Erased entries are made by the erasure request, not by hand."})
            return
        try:
            self.value = self.normalize(self.kind, self.value)
        except ValueError as exc:
            raise ValidationError({"value": str(exc)}) from None

    @classmethod
    def normalize(cls, kind: str, value: str) -> str:
        """The stored form of an email or domain; ValueError when it is not one."""
        value = (value or "").strip().lower()
        if kind == cls.Kind.EMAIL:
            local, at, domain = value.rpartition("@")
            if not (at and local and "." in domain and " " not in value):
                raise ValueError("Enter a valid email address.")
        elif kind == cls.Kind.DOMAIN:
            value = value.removeprefix("@")
            if "." not in value or "@" in value or " " in value:
                raise ValueError("Enter a domain such as example.com.")
        else:
            raise ValueError(f"kind must be {cls.Kind.EMAIL} or {cls.Kind.DOMAIN}.")
        return value


class ExportSettings(models.Model):
    """The tenant's destination credentials (pk=1); an empty value means 'use the environment'.
    The API keys and the client secret are encrypted in the database (``EncryptedTextField``)."""

    instantly_api_key = EncryptedTextField(max_length=300, blank=True, default="")
    smartlead_api_key = EncryptedTextField(max_length=300, blank=True, default="")
    salesforce_instance_url = models.CharField(max_length=300, blank=True, default="")
    salesforce_token_url = models.CharField(max_length=300, blank=True, default="")
    salesforce_client_id = models.CharField(max_length=300, blank=True, default="")
    salesforce_client_secret = EncryptedTextField(max_length=300, blank=True, default="")
    salesforce_external_id_field = models.CharField(max_length=100, blank=True, default="")
    salesforce_api_version = models.CharField(max_length=10, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "export settings"
        verbose_name_plural = "export settings"

    def __str__(self):
        return "Export settings"

    @classmethod
    def current(cls) -> "ExportSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def value(self, name: str) -> str:
        """The tenant's value, else the environment's (settings.<NAME upper-cased>)."""
        return getattr(self, name) or getattr(settings, name.upper(), "") or ""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Left


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    NORMALIZED = "normalized", "Normalized"
    DUPLICATE = "duplicate", "Duplicate"
    ENRICHED = "enriched", "Enriched"
    VERIFIED = "verified", "Verified"
    PENDING_REVIEW = "pending_review", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPORTED = "exported", "Exported"
    ERROR = "error", "Error"
    ARCHIVED = "archived", "Archived"


# Statuses a lead can still be merged into (not a duplicate or archived).
SURVIVING_STATUSES = [s for s in LeadStatus.values if s not in (LeadStatus.DUPLICATE, LeadStatus.ARCHIVED)]

# Statuses with pipeline stages still ahead, or a retry (error): the only ones a
# worker claims, so the only ones in the claim index (lead_status_next_idx). A lead
# moving on to review, export or a merge then costs one index write less.
UNFINISHED_STATUSES = [LeadStatus.NEW, LeadStatus.NORMALIZED, LeadStatus.ENRICHED, LeadStatus.VERIFIED,
                       LeadStatus.ERROR]

# The contact fields a person may edit; everything else is derived or managed.
CONTACT_FIELDS = (
    "email", "first_name", "last_name", "full_name", "phone", "company", "title", "website",
    "linkedin_url", "street", "city", "state", "postal_code", "country",
)


# The flags of ``Lead.normalized`` at their default value. Ingestion stores a new
# lead's ``normalized`` without them (most flags are false or empty for most leads:
# two thirds of the document), and reading a lead fills them back in, so every
# reader sees the whole document (see ``compact_normalized``, ``Lead.from_db``).
NORMALIZED_DEFAULTS = {
    **dict.fromkeys(("email_valid", "is_role", "is_free", "is_disposable", "phone_valid"), False),
    **dict.fromkeys(("email_error", "email_suggestion", "email_unicode", "name_prefix", "name_suffix", "middle_name",
                     "nickname", "phone_type", "phone_error", "phone_region", "phone_extension", "website",
                     "country_name", "country_source"), ""),
}


def compact_normalized(normalized: dict) -> dict:
    """``normalized`` without the flags that hold their default value."""
    # Every default is falsy: a truthy value is kept without looking further.
    return {key: value for key, value in normalized.items()
            if value or key not in NORMALIZED_DEFAULTS or value != NORMALIZED_DEFAULTS[key]}


def _jsonb_key_order(key: str) -> tuple:
    return len(key), key


# PostgreSQL's jsonb keeps an object's keys shortest first, then in byte order: a
# filled document follows that order, so it reads exactly as one stored whole.
_FILLED_ORDER = tuple(sorted((*NORMALIZED_DEFAULTS, "version", "name_parsed"), key=_jsonb_key_order))
_FILLED_KEYS = frozenset(_FILLED_ORDER)


def expand_normalized(normalized: dict) -> dict:
    """A stored ``normalized`` with its omitted flags filled back in, in jsonb's key
    order. A document without ``version`` was not written by normalization and is
    returned as is."""
    if "version" not in normalized:
        return normalized
    filled = {**NORMALIZED_DEFAULTS, **normalized}
    if filled.keys() == _FILLED_KEYS:
        return {key: filled[key] for key in _FILLED_ORDER}
    return {key: filled[key] for key in sorted(filled, key=_jsonb_key_order)}


class Lead(models.Model):
    # What arrived, exactly as received (never modified).
    raw = models.JSONField(default=dict)
    source = models.CharField(max_length=100, default="api")
    external_id = models.CharField(max_length=255, blank=True, default="")
    # Kept by Django, not by a database constraint: the deferred check ran once per
    # inserted lead at commit (about 5 us each, half a second of a 100,000-row import)
    # and a batch is only ever deleted through the ORM, which sets this to NULL.
    batch = models.ForeignKey("leads.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads",
                              db_index=False, db_constraint=False)

    # Editable contact fields.
    email = models.CharField(max_length=320, blank=True, default="")
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    full_name = models.CharField(max_length=300, blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    company = models.CharField(max_length=300, blank=True, default="")
    title = models.CharField(max_length=300, blank=True, default="")
    website = models.CharField(max_length=500, blank=True, default="")
    linkedin_url = models.CharField(max_length=500, blank=True, default="")
    street = models.CharField(max_length=300, blank=True, default="")
    city = models.CharField(max_length=150, blank=True, default="")
    state = models.CharField(max_length=150, blank=True, default="")
    postal_code = models.CharField(max_length=32, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)

    # Derived by normalization: display values and flags in `normalized`,
    # match keys in their own indexed columns.
    normalized = models.JSONField(default=dict, blank=True)
    email_key = models.CharField(max_length=320, blank=True, default="")
    phone_key = models.CharField(max_length=32, blank=True, default="")
    linkedin_key = models.CharField(max_length=200, blank=True, default="")
    company_key = models.CharField(max_length=300, blank=True, default="")
    domain = models.CharField(max_length=255, blank=True, default="")
    name_key = models.CharField(max_length=100, blank=True, default="", help_text="fuzzy-match blocking key")
    seniority = models.CharField(max_length=20, blank=True, default="")
    department = models.CharField(max_length=30, blank=True, default="")
    country_code = models.CharField(max_length=2, blank=True, default="")

    # Life cycle.
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates", db_index=False)
    possible_duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="possible_duplicates", db_index=False)
    merge_history = models.JSONField(default=list, blank=True)

    score = models.SmallIntegerField(null=True, blank=True)
    score_breakdown = models.JSONField(default=list, blank=True)

    enrichment = models.JSONField(default=dict, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)
    verification = models.JSONField(default=dict, blank=True)
    verification_status = models.CharField(max_length=20, blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)

    error_stage = models.CharField(max_length=30, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    # Lease held by a worker while it processes the lead.
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, default="")

    exported_at = models.DateTimeField(null=True, blank=True)
    export_destination = models.CharField(max_length=200, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="lead_source_external_id_uniq"
            ),
            models.UniqueConstraint(
                fields=["email_key"],
                condition=~Q(email_key="") & Q(status__in=SURVIVING_STATUSES),
                name="lead_surviving_email_key_uniq",
            ),
        ]
        # Every index costs each non-HOT lead update (a status change) one write, so
        # indexes on mostly-empty columns are partial, and none duplicates another.
        # Exact email look-ups use lead_surviving_email_key_uniq (they ask for surviving
        # statuses only), so email_key has no index of its own.
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="lead_status_next_idx",
                         condition=Q(status__in=UNFINISHED_STATUSES)),
            models.Index(fields=["source", "created_at"], name="lead_source_created_idx"),
            models.Index(fields=["batch"], name="lead_batch_idx", condition=Q(batch__isnull=False)),
            models.Index(fields=["duplicate_of"], name="lead_duplicate_of_idx", condition=Q(duplicate_of__isnull=False)),
            models.Index(fields=["possible_duplicate_of"], name="lead_possible_dup_idx",
                         condition=Q(possible_duplicate_of__isnull=False)),
            models.Index(fields=["reviewed_by"], name="lead_reviewed_by_idx", condition=Q(reviewed_by__isnull=False)),
            models.Index(fields=["phone_key"], name="lead_phone_key_idx", condition=~Q(phone_key="")),
            models.Index(fields=["linkedin_key"], name="lead_linkedin_key_idx", condition=~Q(linkedin_key="")),
            # Fuzzy dedupe looks up company and domain blocks narrowed to the initial of
            # the last name (processing.deduplication._candidates): with the initial in
            # the index a probe reads only those rows, not every colleague's. Plain
            # company_key/domain look-ups still use the leading column.
            models.Index(F("company_key"), Left("name_key", 1), name="lead_company_initial_idx",
                         condition=~Q(company_key="")),
            models.Index(F("domain"), Left("name_key", 1), name="lead_domain_initial_idx", condition=~Q(domain="")),
            models.Index(fields=["name_key"], name="lead_name_key_idx", condition=~Q(name_key="")),
            # The review queue's order (highest score first, unscored last, oldest first):
            # the first page is read straight from the index.
            models.Index(F("status"), F("score").desc(nulls_last=True), F("id"), name="lead_queue_order_idx"),
            # Analytics aggregate every lead of a date range; with these columns included
            # that is an index-only scan instead of a pass over the wide rows.
            models.Index(fields=["created_at"], include=["source", "status", "score", "verification_status"],
                         name="lead_analytics_idx"),
        ]

    @classmethod
    def from_db(cls, db, field_names, values):
        lead = super().from_db(db, field_names, values)
        normalized = lead.__dict__.get("normalized")
        if normalized:
            lead.normalized = expand_normalized(normalized)
        return lead

    def __str__(self):
        who = self.email or self.full_name or " ".join(p for p in (self.first_name, self.last_name) if p) or self.company
        return f"Lead {self.pk}: {who}"

"""Forms of the review pages: they parse input; the services decide."""
import datetime as dt

from django import forms
from django.utils import timezone

from leads.models import Lead, LeadStatus
from leads.models.lead import CONTACT_FIELDS
from leads.selectors import QueueFilters
from leads.services.review import DECISIONS


class SignInForm(forms.Form):
    email = forms.CharField(label="Email", max_length=320,
                            widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label="Password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class QueueFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "name, email, company"}))
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any status"), *LeadStatus.choices])
    source = forms.CharField(label="Source", required=False, max_length=100)
    score_min = forms.IntegerField(label="Score from", required=False, min_value=-1000, max_value=1000)
    score_max = forms.IntegerField(label="Score to", required=False, min_value=-1000, max_value=1000)
    created_from = forms.DateField(label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, sources: list[str] = (), **kwargs):
        # The queue shows pending leads unless the reviewer picks another status (or "any").
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = LeadStatus.PENDING_REVIEW
        super().__init__(data, **kwargs)
        self.fields["source"].widget = forms.Select(choices=[("", "Any source"), *((s, s) for s in sources)])

    def clean(self):
        cleaned = super().clean()
        lo, hi = cleaned.get("score_min"), cleaned.get("score_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("score_max", "Must be at least the lower bound.")
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "Must be on or after the start date.")
        return cleaned

    def filters(self) -> QueueFilters:
        data = self.cleaned_data
        return QueueFilters(
            status=data.get("status") or "", source=data.get("source") or "", q=(data.get("q") or "").strip(),
            score_min=data.get("score_min"), score_max=data.get("score_max"),
            created_from=data.get("created_from"), created_to=data.get("created_to"),
        )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[(d.value, d.label) for d in DECISIONS])
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class BulkReviewForm(ReviewForm):
    ids = forms.TypedMultipleChoiceField(coerce=int, error_messages={"required": "Select at least one lead."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer id is acceptable here; the service ignores ids that are not pending.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()


class LeadContactForm(forms.Form):
    """The contact fields, pre-filled from the lead. Validation lives in the edit service,
    whose {field: [messages]} errors are put back on these fields."""

    def __init__(self, *args, lead: Lead, **kwargs):
        initial = {field: getattr(lead, field) for field in CONTACT_FIELDS}
        super().__init__(*args, initial=initial, **kwargs)
        for field in CONTACT_FIELDS:
            model_field = Lead._meta.get_field(field)
            widget = forms.EmailInput if field == "email" else forms.TextInput
            self.fields[field] = forms.CharField(
                label="LinkedIn URL" if field == "linkedin_url" else model_field.verbose_name.capitalize(), required=False,
                widget=widget(attrs={"autocomplete": "off"}),
            )

    def changes(self) -> dict[str, str]:
        # Only the fields the form sent: a partial post never clears the others.
        return {field: self.cleaned_data.get(field, "") for field in CONTACT_FIELDS if field in self.data}


class DateRangeForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    DEFAULT_DAYS = 30

    def clean(self):
        cleaned = super().clean()
        today = timezone.now().date()
        cleaned["date_to"] = cleaned.get("date_to") or today
        cleaned["date_from"] = cleaned.get("date_from") or cleaned["date_to"] - dt.timedelta(days=self.DEFAULT_DAYS - 1)
        if cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_to", "Must be on or after the start date.")
        return cleaned

"""Helpers for pipeline tests: leads whose normalized key columns are set directly."""
import itertools

import pytest

from leads.models import Lead, LeadStatus, TenantSettings

_seq = itertools.count(1)


def keyed_lead(*, save: bool = True, **fields) -> Lead:
    """A normalized lead with match keys derived the simple way (tests set what
    matters to them; normalization has its own tests)."""
    first = fields.setdefault("first_name", "")
    last = fields.setdefault("last_name", "")
    fields.setdefault("status", LeadStatus.NORMALIZED)
    fields.setdefault("source", "test")
    email = fields.get("email", "")
    fields.setdefault("email_key", email.lower())
    fields.setdefault("name_key", last.lower())
    company = fields.get("company", "")
    fields.setdefault("company_key", company.lower().replace(" inc", "").replace(",", "").strip())
    fields.setdefault("phone_key", fields.get("phone", ""))
    fields.setdefault("normalized", {"email_valid": bool(email), "is_free": email.endswith("@gmail.com"),
                                     "is_role": False, "is_disposable": False, "phone_valid": bool(fields.get("phone"))})
    lead = Lead(**fields)
    if save:
        lead.save()
    return lead


@pytest.fixture
def tenant_settings(in_tenant_a):
    return TenantSettings.current()

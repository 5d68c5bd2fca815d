"""Normalization: clean a lead's contact fields and derive its match keys and flags.

Pure functions, no database access: the pipeline calls ``normalize_leads`` on a chunk
of Lead objects (saved or not) and writes them set-based. Each rule lives in its own
module (emails, names, phones, companies, web, titles, countries) and caches its work,
since names, companies, titles, countries and email domains repeat across leads.

What ``normalize_lead`` sets (the values as received stay in ``lead.raw``):

- contact fields, cleaned: email, first_name, last_name, full_name, phone, company,
  title, website, linkedin_url and the address fields (spaces collapsed);
- key columns: email_key, phone_key, linkedin_key, company_key, domain, name_key;
- derived columns: seniority, department, country_code;
- ``lead.normalized``: flags and extras for the reviewer and later stages (see
  ``NORMALIZED_KEYS``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .companies import clean_company, company_key
from .countries import country_code, country_name
from .emails import normalize_email
from .names import normalize_name
from .phones import SUPPORTED_REGIONS, PhoneResult, normalize_phone
from .text import squash
from .titles import classify_title
from .web import clean_website, linkedin_key, registrable_domain

if TYPE_CHECKING:
    from leads.models import Lead

__all__ = [
    "normalize_lead", "normalize_leads", "normalize_email", "normalize_name", "normalize_phone",
    "company_key", "clean_website", "registrable_domain", "linkedin_key", "classify_title",
    "country_code", "clear_caches", "NORMALIZED_KEYS", "RULES_VERSION", "UPDATED_FIELDS",
]

# Bumped when a rule changes in a way that changes keys, so stored leads can be re-normalized.
RULES_VERSION = 1

NORMALIZED_KEYS = (
    "version", "email_valid", "email_error", "email_suggestion", "email_unicode", "is_role",
    "is_free", "is_disposable", "name_prefix", "name_suffix", "middle_name", "nickname",
    "phone_valid", "phone_type", "phone_error", "phone_region", "phone_extension", "website",
    "country_name", "country_source", "name_parsed",
)
_NAME_EXTRAS = ("name_prefix", "name_suffix", "middle_name", "nickname")

_ADDRESS_FIELDS = ("street", "city", "state", "postal_code", "country")

# Every Lead field normalize_lead may set: what a caller passes to bulk_update.
UPDATED_FIELDS = (
    "email", "first_name", "last_name", "full_name", "phone", "company", "title", "website", "linkedin_url",
    *_ADDRESS_FIELDS, "email_key", "phone_key", "linkedin_key", "company_key", "domain", "name_key",
    "seniority", "department", "country_code", "normalized",
)


def normalize_lead(lead: Lead, *, default_region: str) -> None:
    """Normalize one lead in place (no database access, no network).

    ``default_region`` (ISO alpha-2, the tenant's setting) reads phone numbers only when
    the lead names no country of its own. Running it again on its own output changes
    nothing. Never raises on messy input: what can't be cleaned is kept and flagged.
    """
    previous = lead.normalized or {}

    email = normalize_email(lead.email)
    # IDNA and canonical URLs can make a value longer than it came in: keep within columns.
    lead.email = email.email[:320]
    lead.email_key = email.key[:320]

    given = [lead.first_name or "", lead.last_name or "", lead.full_name or ""]
    name = normalize_name(*given)
    lead.first_name, lead.last_name, lead.full_name = name.first[:150], name.last[:150], name.full[:300]
    lead.name_key = name.key
    name_extras = dict(zip(_NAME_EXTRAS, (name.prefix, name.suffix, name.middle, name.nickname)))
    if previous.get("name_parsed") == given:
        # A re-run reads the previous output, where "Dr." or "Jr." were already taken
        # out: keep what the first run found, as long as nobody has edited the name.
        for extra in _NAME_EXTRAS:
            name_extras[extra] = name_extras[extra] or previous.get(extra, "")

    for field in _ADDRESS_FIELDS:
        setattr(lead, field, squash(getattr(lead, field) or ""))

    # The lead's own country reads its phone. A country_code this function derived on an
    # earlier run (from the phone or the country field) is not an input: after an edit to
    # those fields it must not steer the new values.
    own_code = country_code(lead.country)
    country_source = "country" if own_code else ""
    if not own_code and lead.country_code and previous.get("country_source") not in ("phone", "country"):
        own_code = lead.country_code.upper() if lead.country_code.upper() in SUPPORTED_REGIONS else ""
        country_source = "country_code" if own_code else ""
    if lead.phone and lead.phone == lead.phone_key and previous.get("version") == RULES_VERSION:
        # Already E.164 from an earlier run: the number reads the same in any region, so
        # the stored flags still hold and re-processing skips the costliest rule.
        phone = PhoneResult(lead.phone, lead.phone_key, previous.get("phone_valid", False),
                            previous.get("phone_type", ""), previous.get("phone_region", ""),
                            previous.get("phone_extension", ""), previous.get("phone_error", ""))
    else:
        phone = normalize_phone(lead.phone or "", own_code or default_region or "US")
    extension = phone.extension
    if not extension and phone.key and phone.key == lead.phone_key:
        extension = previous.get("phone_extension", "")  # E.164 has no room for it: keep the first run's
    lead.phone = phone.phone[:64]
    lead.phone_key = phone.key
    if not own_code and phone.region:
        own_code, country_source = phone.region, "phone"
    lead.country_code = own_code

    website = clean_website(lead.website or "")
    lead.website = website.url[:500]
    lead.domain = (website.domain or email.company_domain)[:255]

    lead.company = clean_company(lead.company)[:300]
    lead.company_key = company_key(lead.company)

    lead.title = squash(lead.title)[:300]
    lead.seniority, lead.department = classify_title(lead.title)

    linkedin_url, linkedin = linkedin_key(lead.linkedin_url or "")
    if not linkedin_url and "linkedin.com/in/" in lead.website.lower():
        linkedin_url, linkedin = linkedin_key(lead.website)  # a profile typed into the website column
    lead.linkedin_url, lead.linkedin_key = linkedin_url[:500], linkedin[:200]

    lead.normalized = {
        "version": RULES_VERSION,
        "email_valid": email.valid,
        "email_error": email.error,
        "email_suggestion": email.suggestion,
        "email_unicode": email.unicode,
        "is_role": email.is_role,
        "is_free": email.is_free,
        "is_disposable": email.is_disposable,
        **name_extras,
        "phone_valid": phone.valid,
        "phone_type": phone.type,
        "phone_error": phone.error,
        "phone_region": phone.region,
        "phone_extension": extension,
        "website": website.url,
        "country_name": country_name(own_code),
        "country_source": country_source,
        "name_parsed": [lead.first_name, lead.last_name, lead.full_name],
    }


def normalize_leads(leads: list[Lead], *, default_region: str) -> None:
    """Normalize each lead of ``leads`` in place (see ``normalize_lead``)."""
    for lead in leads:
        normalize_lead(lead, default_region=default_region)


def clear_caches() -> None:
    """Empty every memo cache of the rules (benchmarks measure from cold; tests isolate)."""
    from . import companies, countries, emails, names, phones, text, titles, web

    for module in (companies, countries, emails, names, phones, text, titles, web):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()

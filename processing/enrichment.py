"""The enrichment stage: person and company facts from the tenant's providers.

Enrichment only fills what is empty: a value a person entered is never
overwritten. Every field it maps is recorded in ``lead.enrichment`` with its
provider and time, applied to the lead or not. Answers (including "no match")
are cached per email (person) and per domain (company), so a re-import spends
no credit twice. A provider's trouble never fails a lead: queued requests
(202), outages, rate limits and configuration problems leave it ``deferred``.
"""
import datetime as dt
from collections.abc import Iterable

from django.conf import settings as django_settings
from django.utils import timezone

from leads.models import Lead, TenantSettings
from processing.models.providers import CacheKind, ProviderKind, ProviderResult
from processing.providers.base import Clock
from processing.providers.clearbit import map_person_company
from processing.providers.registry import (
    budget_allowance, build_provider, cache_get, cache_put, cache_ttl, call_record, provider_configs, retry_delay_after,
)
from processing.stages import StageResult

# Enriched values that may fill a lead's empty field of the same name.
FILLABLE_FIELDS = (
    "first_name", "last_name", "full_name", "title", "company", "website", "linkedin_url", "city", "state",
    "country", "seniority",
)


def _lookup_of(lead: Lead) -> tuple[str, str] | None:
    email = (lead.email_key or lead.email or "").strip().lower()
    if email:
        return ("email", email)
    domain = (lead.domain or "").strip().lower()
    return ("domain", domain) if domain else None


# Flat field -> its name inside the "company" summary (everything else is about the person).
COMPANY_SUMMARY = {
    "company": "name", "company_domain": "domain", "website": "website", "sector": "sector",
    "industry_group": "industry_group", "industry": "industry", "sub_industry": "sub_industry",
    "employees": "employees", "employees_range": "employees_range", "annual_revenue": "annual_revenue",
    "company_city": "city", "company_country": "country", "tech": "tech",
}


def apply_enrichment(lead: Lead, fields: dict, *, provider: str, fetched_at: dt.datetime) -> None:
    """Fill only empty lead fields, and record what was found in ``lead.enrichment``:

    ``{"provider", "fetched_at", "person": {...}, "company": {...},
    "fields": {name: {"value", "provider", "fetched_at", "applied"}}}`` where
    ``applied`` says whether the value was written to the lead (False when a
    person had already entered one). Scoring reads ``company.employees`` and
    ``company.industry``.
    """
    stamp = fetched_at.isoformat()
    enrichment = dict(lead.enrichment or {})
    recorded = dict(enrichment.get("fields") or {})
    person, company = dict(enrichment.get("person") or {}), dict(enrichment.get("company") or {})
    for name, value in fields.items():
        applied = False
        if name in FILLABLE_FIELDS and not getattr(lead, name, ""):
            setattr(lead, name, str(value)[: Lead._meta.get_field(name).max_length])
            applied = True
        recorded[name] = {"value": value, "provider": provider, "fetched_at": stamp, "applied": applied}
        if name in COMPANY_SUMMARY:
            company[COMPANY_SUMMARY[name]] = value
        else:
            person[name] = value
    if not lead.department and fields.get("role"):
        lead.department = str(fields["role"])[:30]
    enrichment.update(provider=provider, fetched_at=stamp, person=person, company=company, fields=recorded)
    lead.enrichment = enrichment


def enrich_leads(leads: Iterable[Lead], *, settings: TenantSettings, clock: Clock | None = None) -> StageResult:
    """Enrich the leads (in the current tenant schema).

    ``passed``: answered, "no match", or nothing to look up (no email and no
    domain, no provider configured, budget reached); ``enrichment`` and
    ``enriched_at`` set. ``deferred``: waiting for a provider (202, outage, 429,
    configuration problem), ``next_attempt_at`` set, lead untouched. ``failed``:
    the provider refused this lead's input (422).
    """
    leads = list(leads)
    result = StageResult()
    if not settings.enrichment_enabled():
        result.passed, result.note = leads, "enrichment is off"
        return result

    now = timezone.now()
    lookups = list(dict.fromkeys(lk for lk in map(_lookup_of, leads) if lk))
    answers: dict[tuple, tuple[dict | None, str, dt.datetime]] = {}  # lookup -> answer, provider, fetched_at
    waiting: dict[tuple, dt.datetime] = {}
    rejected: dict[tuple, str] = {}

    person_rows = cache_get(CacheKind.PERSON, [v for k, v in lookups if k == "email"])
    company_rows = cache_get(CacheKind.COMPANY, [v for k, v in lookups if k == "domain"])
    for lookup in lookups:
        row = (person_rows if lookup[0] == "email" else company_rows).get(lookup[1])
        if row is not None and row.expires_at > now:
            answer = row.data if lookup[0] == "email" else ({"person": None, "company": row.data} if row.data else None)
            answers[lookup] = (answer, row.provider, row.fetched_at)
    pending = [lk for lk in lookups if lk not in answers]

    retry_delay = dt.timedelta(minutes=django_settings.PROVIDER_RETRY_MINUTES)
    new_cache: dict[tuple, ProviderResult] = {}
    for config in provider_configs(ProviderKind.ENRICHMENT):
        if not pending:
            break
        if not config.enabled:
            continue
        provider = build_provider(config, clock=clock)
        if provider is None:
            continue
        if config.paused_until and config.paused_until > now:
            for lookup in pending:
                waiting[lookup] = max(waiting.get(lookup, now), config.paused_until)
            continue
        allowance = budget_allowance(config)
        ask = pending if allowance is None else pending[:allowance]
        if not ask:
            continue

        outcome = provider.enrich(ask)
        call_record(config, outcome)
        expires = now + cache_ttl()
        for lookup, answer in outcome.results.items():
            answers[lookup] = (answer, config.name, now)
            waiting.pop(lookup, None)
            rejected.pop(lookup, None)
            by, value = lookup
            if by == "email":
                new_cache[(CacheKind.PERSON, value)] = ProviderResult(
                    kind=CacheKind.PERSON, key=value, provider=config.name, data=answer, fetched_at=now, expires_at=expires)
            company = (answer or {}).get("company")
            company_domain = (company or {}).get("domain") or (value if by == "domain" else "")
            if company_domain:
                new_cache[(CacheKind.COMPANY, company_domain.lower())] = ProviderResult(
                    kind=CacheKind.COMPANY, key=company_domain.lower(), provider=config.name, data=company,
                    fetched_at=now, expires_at=expires)
        for lookup in outcome.queued:
            waiting[lookup] = now + retry_delay
        rejected.update(outcome.rejected)
        wait = retry_delay_after(outcome.error, retry_delay)
        for lookup in ask:
            if lookup not in outcome.results and lookup not in outcome.rejected and lookup not in outcome.queued:
                waiting[lookup] = now + wait
        pending = [lk for lk in pending if lk not in answers]

    cache_put(list(new_cache.values()))

    for lead in leads:
        lookup = _lookup_of(lead)
        if lookup in answers:
            answer, provider, fetched_at = answers[lookup]
            if answer:
                apply_enrichment(lead, map_person_company(answer.get("person"), answer.get("company")),
                                 provider=provider, fetched_at=fetched_at)
            lead.enriched_at = now
            result.passed.append(lead)
        elif lookup in waiting:
            lead.next_attempt_at = waiting[lookup]
            result.deferred.append(lead)
        elif lookup in rejected:
            result.failed.append((lead, rejected[lookup]))
        else:
            result.passed.append(lead)  # nothing to look up, or no provider could be asked
    return result

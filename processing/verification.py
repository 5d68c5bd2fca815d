"""The verification stage: is each lead's email address deliverable?

Providers run as a waterfall in the tenant's order: the free offline verifier
first (a hopeless address gets its final answer there and costs nothing), then
the paid providers for what is left. Answers are cached per canonical email so
a re-import spends no credit twice.

Nothing here condemns a lead because of a provider's trouble: an outage, a
queue, a rate limit or a configuration problem leaves the lead where it is
(``deferred`` with ``next_attempt_at``), and temporary answers (unknown,
greylisted, ...) are re-checked later, up to VERIFY_RECHECK_LIMIT times.
"""
import dataclasses
import datetime as dt
from collections.abc import Iterable

from django.conf import settings as django_settings
from django.utils import timezone

from leads.models import Lead, TenantSettings
from processing.models.providers import CacheKind, ProviderKind, ProviderResult
from processing.providers.base import Clock, Verdict
from processing.providers.registry import (
    budget_allowance, budget_reason, build_provider, cache_get, cache_put, cache_ttl, call_record, credits_refresh,
    provider_configs, retry_delay_after,
)
from processing.stages import StageResult

INCONCLUSIVE = "unverified"


def _email_of(lead: Lead) -> str:
    return (lead.email_key or lead.email or "").strip().lower()


def _record(verdict: Verdict, *, provider: str, checked_at: dt.datetime, offline: Verdict | None,
            cached: bool = False, **extra) -> dict:
    record = {
        "status": verdict.status,
        "sub_status": verdict.sub_status,
        "provider": provider,
        "checked_at": checked_at.isoformat(),
        "did_you_mean": verdict.did_you_mean,
        "cached": cached,
    }
    # Offline facts (free mail, role, disposable) hold whoever gave the verdict.
    details = {**(offline.details if offline else {}), **verdict.details}
    record.update({k: v for k, v in details.items() if k != "reason"})
    if not record["did_you_mean"] and offline and offline.did_you_mean:
        record["did_you_mean"] = offline.did_you_mean
    record.update(extra)
    return record


def _verdict_from_cache(row: ProviderResult) -> Verdict:
    fields = {f.name for f in dataclasses.fields(Verdict)}
    return Verdict(**{k: v for k, v in (row.data or {}).items() if k in fields})


def verify_leads(leads: Iterable[Lead], *, settings: TenantSettings, clock: Clock | None = None) -> StageResult:
    """Verify the leads' email addresses (in the current tenant schema).

    Sets ``verification`` ({status, sub_status, provider, checked_at, did_you_mean,
    free_email, role_account, disposable, ...}), ``verification_status`` and
    ``verified_at`` on the leads that get an answer (``passed``). Leads waiting for
    a provider are ``deferred`` with ``next_attempt_at``; a lead whose address a
    provider refuses outright is ``failed``. Writes only the cache, usage and
    provider health; the caller saves the leads.
    """
    leads = list(leads)
    result = StageResult()
    if not settings.verification_enabled():
        result.passed, result.note = leads, "verification is off"
        return result

    now = timezone.now()
    emails = list(dict.fromkeys(e for e in map(_email_of, leads) if e))

    final: dict[str, tuple[Verdict, str, dt.datetime, bool]] = {}   # email -> verdict, provider, checked_at, cached
    temporary: dict[str, tuple[Verdict, str, dt.datetime]] = {}     # email -> verdict, provider, recheck at
    waiting: dict[str, dt.datetime] = {}                            # email -> retry at (provider trouble)
    rejected: dict[str, str] = {}
    offline: dict[str, Verdict] = {}
    notes: list[str] = []

    # Normalization ran email-validator on each address (its domain in IDNA form,
    # as stored): the offline checks need not parse those domains again.
    valid_domains = {_email_of(l).rpartition("@")[2] for l in leads if (l.normalized or {}).get("email_valid")}

    cached = cache_get(CacheKind.VERIFICATION, emails)
    for email, row in cached.items():
        if row.expires_at > now:
            if row.final:
                final[email] = (_verdict_from_cache(row), row.provider, row.fetched_at, True)
            else:
                temporary[email] = (_verdict_from_cache(row), row.provider, row.expires_at)
    pending = [e for e in emails if e not in final and e not in temporary]

    recheck_delay = dt.timedelta(minutes=django_settings.VERIFY_RECHECK_MINUTES)
    retry_delay = dt.timedelta(minutes=django_settings.PROVIDER_RETRY_MINUTES)
    new_cache: list[ProviderResult] = []

    for config in provider_configs(ProviderKind.VERIFICATION):
        if not pending:
            break
        if not config.enabled:
            continue
        provider = build_provider(config, clock=clock)
        if provider is None:
            continue  # paid and no key: not configured for this tenant
        if not provider.paid:
            for email, verdict in provider.verify(pending, valid_domains=valid_domains).results.items():
                if verdict.status == INCONCLUSIVE:
                    offline[email] = verdict
                else:
                    final[email] = (verdict, config.name, now, False)
            pending = [e for e in pending if e not in final]
            continue

        if config.paused_until and config.paused_until > now:
            for email in pending:
                waiting[email] = max(waiting.get(email, now), config.paused_until)
            continue
        allowance = budget_allowance(config)
        ask = pending if allowance is None else pending[:allowance]
        if len(ask) < len(pending):
            notes.append(budget_reason(config))
        if not ask:
            continue

        outcome = provider.verify(ask)
        call_record(config, outcome)
        for email, verdict in outcome.results.items():
            previous = cached.get(email)
            checks = previous.checks + 1 if previous is not None and not previous.final else 1
            # After enough re-checks a temporary answer stands, so no lead waits forever.
            settled = verdict.final or checks > django_settings.VERIFY_RECHECK_LIMIT
            expires = now + (cache_ttl() if settled else recheck_delay)
            new_cache.append(ProviderResult(
                kind=CacheKind.VERIFICATION, key=email, provider=config.name, data=dataclasses.asdict(verdict),
                final=settled, checks=checks, fetched_at=now, expires_at=expires,
            ))
            if settled:
                final[email] = (verdict, config.name, now, False)
                waiting.pop(email, None)
            else:
                temporary[email] = (verdict, config.name, expires)
        rejected.update(outcome.rejected)
        # Asked but not answered (an error stopped the run, or the answer left it
        # out): the address waits for a later run, whatever the next provider says.
        wait = retry_delay_after(outcome.error, retry_delay)
        for email in ask:
            if email not in outcome.results and email not in outcome.rejected:
                waiting[email] = now + wait
        if outcome.error is None and outcome.calls:
            credits_refresh(config, provider)
        pending = [e for e in pending if e not in final and e not in temporary and e not in rejected]

    cache_put(new_cache)

    for lead in leads:
        email = _email_of(lead)
        if not email:
            lead.verification = {"status": INCONCLUSIVE, "sub_status": "no_email", "provider": "", "checked_at": now.isoformat(), "did_you_mean": ""}
            lead.verification_status, lead.verified_at = INCONCLUSIVE, now
            result.passed.append(lead)
        elif email in final:
            verdict, provider, checked_at, from_cache = final[email]
            lead.verification = _record(verdict, provider=provider, checked_at=checked_at, offline=offline.get(email), cached=from_cache)
            lead.verification_status, lead.verified_at = verdict.status, now
            result.passed.append(lead)
        elif email in temporary:
            verdict, provider, recheck_at = temporary[email]
            lead.verification = _record(verdict, provider=provider, checked_at=now, offline=offline.get(email),
                                        recheck_at=recheck_at.isoformat())
            lead.next_attempt_at = recheck_at
            result.deferred.append(lead)
        elif email in waiting:
            lead.next_attempt_at = waiting[email]
            result.deferred.append(lead)
        elif email in rejected:
            result.failed.append((lead, rejected[email]))
        else:
            # No paid provider could be asked (none configured, disabled or over
            # budget): the offline checks are the answer.
            verdict = offline.get(email) or Verdict(INCONCLUSIVE)
            extra = {"notes": notes} if notes else {}
            lead.verification = _record(verdict, provider="offline", checked_at=now, offline=verdict, **extra)
            lead.verification_status, lead.verified_at = verdict.status, now
            result.passed.append(lead)
    return result

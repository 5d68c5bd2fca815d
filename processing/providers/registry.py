"""Which providers run for this tenant, their accounting, health and cache.

Everything here works on the current schema (call it inside the tenant's
``schema_context``): configuration, usage, health and cached answers are the
tenant's own.
"""
import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from processing.models.providers import (
    DEFAULT_POSITION, PROVIDER_KIND, ProviderConfig, ProviderName, ProviderRateSlot, ProviderResult, ProviderUsage,
    month_start,
)
from processing.bulk import filter_keys
from processing.providers.base import Clock, Provider, ProviderError, RateLimited, Throttled, scrub
from processing.providers.clearbit import Clearbit
from processing.providers.offline import OfflineVerifier
from processing.providers.zerobounce import ZeroBounce

log = logging.getLogger(__name__)

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    ProviderName.OFFLINE: OfflineVerifier,
    ProviderName.ZEROBOUNCE: ZeroBounce,
    ProviderName.CLEARBIT: Clearbit,
}
BASE_URL_SETTING = {ProviderName.ZEROBOUNCE: "ZEROBOUNCE_BASE_URL", ProviderName.CLEARBIT: "CLEARBIT_BASE_URL"}


# --- Configuration ----------------------------------------------------------------
def provider_configs(kind: str | None = None) -> list[ProviderConfig]:
    """Every provider's row (created with defaults on first use), in waterfall order."""
    configs = list(ProviderConfig.objects.order_by("position", "name"))
    if not {c.name for c in configs} >= set(ProviderName.values):  # an insert only when one is missing
        ProviderConfig.objects.bulk_create(
            [ProviderConfig(name=name, position=DEFAULT_POSITION[name]) for name in ProviderName.values],
            ignore_conflicts=True,
        )
        configs = list(ProviderConfig.objects.order_by("position", "name"))
    return [c for c in configs if kind is None or c.kind == kind]


def build_provider(config: ProviderConfig, *, clock: Clock | None = None) -> Provider | None:
    """A ready client, or None when the provider is paid and has no key."""
    key = config.api_key()
    if config.paid and not key:
        return None
    base_url = getattr(settings, BASE_URL_SETTING[config.name]) if config.name in BASE_URL_SETTING else ""
    clock = clock or Clock()
    return PROVIDER_CLASSES[config.name](
        api_key=key, base_url=base_url, clock=clock, schema=connection.schema_name,
        limiter_factory=lambda name, calls, period: DbRateLimiter(name, calls=calls, period=period, clock=clock),
    )


class DbRateLimiter:
    """The tenant's rate limit shared by all workers (see ProviderRateSlot).
    ``try_acquire`` returns 0 and takes a slot, or the seconds until one frees."""

    def __init__(self, name: str, *, calls: int, period: float, clock: Clock):
        self.name, self.calls, self.period, self.clock = name, calls, period, clock

    def try_acquire(self) -> float:
        now = self.clock.time()
        table = ProviderRateSlot._meta.db_table
        ProviderRateSlot.objects.bulk_create(
            [ProviderRateSlot(limit_name=self.name, slot=i) for i in range(self.calls)], ignore_conflicts=True
        )
        # A savepoint: a slot taken inside the caller's transaction stays taken
        # only if that transaction commits (a rolled-back run made its calls, but
        # then its leads are retried anyway).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {table} SET last_used = %s WHERE id = (
                        SELECT id FROM {table} WHERE limit_name = %s AND slot < %s AND last_used <= %s
                        ORDER BY last_used LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id""",
                [now, self.name, self.calls, now - self.period],
            )
            if cursor.fetchone():
                return 0.0
            cursor.execute(f"SELECT min(last_used) FROM {table} WHERE limit_name = %s AND slot < %s",
                           [self.name, self.calls])
            oldest = cursor.fetchone()[0] or now
        return max(oldest + self.period - now, 1.0)


# --- Usage and budget -------------------------------------------------------------------
def usage_this_month(name: str) -> ProviderUsage:
    return ProviderUsage.objects.filter(provider=name, month=month_start()).first() or ProviderUsage(
        provider=name, month=month_start()
    )


def usage_record(*, name: str, calls: int, credits: int) -> None:
    """Add to this month's counters (an atomic UPDATE, safe with parallel workers)."""
    if not calls and not credits:
        return
    month = month_start()
    ProviderUsage.objects.bulk_create([ProviderUsage(provider=name, month=month)], ignore_conflicts=True)
    ProviderUsage.objects.filter(provider=name, month=month).update(
        calls=F("calls") + calls, credits=F("credits") + credits
    )


def call_record(config: ProviderConfig, outcome) -> None:
    """Book one run of a provider (any outcome with ``calls``, ``credits``, ``error``):
    this month's usage and the provider's health."""
    usage_record(name=config.name, calls=outcome.calls, credits=outcome.credits)
    health_record(config, error=outcome.error, called=outcome.calls > 0)


def retry_delay_after(error: ProviderError | None, default: dt.timedelta) -> dt.timedelta:
    """How long a lead the provider did not answer waits: what a rate limit asked for, else ``default``."""
    return dt.timedelta(seconds=error.retry_after) if isinstance(error, RateLimited) else default


def budget_allowance(config: ProviderConfig) -> int | None:
    """Credits still allowed this month, or None when there is no budget."""
    if config.monthly_credit_budget is None:
        return None
    return max(config.monthly_credit_budget - usage_this_month(config.name).credits, 0)


def budget_reason(config: ProviderConfig) -> str:
    return f"{config.name}: monthly credit budget of {config.monthly_credit_budget} reached; paid calls stopped"


# --- Health -----------------------------------------------------------------------------
def health_record(config: ProviderConfig, *, error: ProviderError | None, called: bool) -> None:
    """Remember the outcome of a run where status and admin can show it."""
    if isinstance(error, Throttled):  # our own limiter, not a provider problem
        error = None
    now = timezone.now()
    fields = {}
    if error is not None:
        fields.update(last_error=scrub(str(error), (config.api_key(),))[:1000], last_error_at=now)
        if isinstance(error, RateLimited):
            fields["paused_until"] = now + dt.timedelta(seconds=error.retry_after)
        log.warning("provider %s: %s", config.name, fields["last_error"])
    elif called:
        fields["last_success_at"] = now
    if fields:
        ProviderConfig.objects.filter(pk=config.pk).update(**fields, updated_at=now)
        for key, value in fields.items():
            setattr(config, key, value)


def is_healthy(config: ProviderConfig) -> bool:
    if config.last_error_at is None:
        return True
    return config.last_success_at is not None and config.last_success_at > config.last_error_at


# --- Cache --------------------------------------------------------------------------------
def cache_get(kind: str, keys, *, now: dt.datetime | None = None) -> dict[str, ProviderResult]:
    """Cached answers for ``keys`` (expired ones included: callers look at expires_at,
    because an expired temporary answer still carries its re-check count)."""
    keys = [k for k in set(keys) if k]
    if not keys:
        return {}
    # One array parameter: a chunk asks for a thousand keys, and a placeholder each
    # costs more to build than the look-up takes.
    return {r.key: r for r in filter_keys(ProviderResult.objects.filter(kind=kind), "key", keys)}


def cache_put(entries: list[ProviderResult]) -> None:
    """Insert or replace answers, one statement per 1,000."""
    if entries:
        ProviderResult.objects.bulk_create(
            entries, batch_size=1000, update_conflicts=True, unique_fields=["kind", "key"],
            update_fields=["provider", "data", "final", "checks", "fetched_at", "expires_at"],
        )


def cache_ttl() -> dt.timedelta:
    return dt.timedelta(days=settings.PROVIDER_CACHE_TTL_DAYS)


def cache_purge_expired() -> int:
    """Delete expired answers (for a cleanup task)."""
    return ProviderResult.objects.filter(expires_at__lte=timezone.now()).delete()[0]


# --- Status ---------------------------------------------------------------------------------
CREDITS_REFRESH = dt.timedelta(minutes=5)


def credits_refresh(config: ProviderConfig, provider: Provider, *, force: bool = False) -> None:
    """Read the provider's credit balance when it offers one (ZeroBounce), at most every 5 minutes."""
    if not hasattr(provider, "credits"):
        return
    now = timezone.now()
    if not force and config.credits_checked_at and now - config.credits_checked_at < CREDITS_REFRESH:
        return
    try:
        credits = provider.credits()
    except ProviderError as exc:
        health_record(config, error=exc, called=True)
        return
    ProviderConfig.objects.filter(pk=config.pk).update(credits_remaining=credits, credits_checked_at=now)
    config.credits_remaining, config.credits_checked_at = credits, now


def provider_status() -> list[dict]:
    """One entry per provider for the current tenant, for /api/v1/status and admin:
    name, kind, enabled, configured, healthy, last_error, credits (when known),
    usage this month and budget. Never contains a key. Empty on the public
    schema, which has no providers."""
    if connection.schema_name == get_public_schema_name():
        return []
    rows = []
    for config in provider_configs():
        usage = usage_this_month(config.name)
        allowance = budget_allowance(config)
        configured = not config.paid or bool(config.api_key())
        blocked = ""
        if config.key_unreadable():
            blocked = "stored API key cannot be decrypted (SECRET_KEY changed?): enter it again"
        elif allowance == 0:
            blocked = budget_reason(config)
        elif config.paused_until and config.paused_until > timezone.now():
            blocked = f"paused by the provider until {config.paused_until.isoformat()}"
        rows.append({
            "name": config.name,
            "kind": PROVIDER_KIND[config.name].value,
            "enabled": config.enabled,
            "configured": configured,
            "healthy": is_healthy(config) and not blocked,
            "last_error": config.last_error if not is_healthy(config) else "",
            "last_error_at": config.last_error_at.isoformat() if config.last_error_at else None,
            "last_success_at": config.last_success_at.isoformat() if config.last_success_at else None,
            "blocked_reason": blocked,
            "credits": config.credits_remaining,
            "usage_month": {"calls": usage.calls, "credits": usage.credits},
            "monthly_credit_budget": config.monthly_credit_budget,
            "api_key": config.masked_api_key(),
        })
    return rows

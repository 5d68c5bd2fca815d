"""What every provider client shares: the error vocabulary, an HTTP session with
timeouts and retries, a client-side rate limiter, and secret scrubbing.

Time is read through a ``Clock`` so tests drive back-off and rate limits with a
fake clock instead of sleeping.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import requests
from django.conf import settings

log = logging.getLogger(__name__)


# --- Errors ---------------------------------------------------------------
class ProviderError(Exception):
    """Base class. Messages never carry an API key (see ``scrub``)."""


class ConfigurationError(ProviderError):
    """The account or key is unusable (401/402/403, invalid key, no credits):
    nothing per lead can fix it, so the provider stops for the run and the
    problem is shown in status and admin."""


class RateLimited(ProviderError):
    """429 or the client-side limiter: try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(RateLimited):
    """Our own limiter said "not yet": not a provider problem, nothing to report."""


class TransientError(ProviderError):
    """5xx, timeouts, connection errors or unreadable bodies, after retries."""


# --- Secrets ----------------------------------------------------------------
_KEY_IN_URL = re.compile(r"(api_key=|apikey=|key=)[^&\s'\"]+", re.IGNORECASE)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove API keys from text meant for logs, errors or audit events."""
    text = _KEY_IN_URL.sub(r"\1***", str(text))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ScrubSecretsFilter(logging.Filter):
    """urllib3 logs request lines (``GET /v2/validate?api_key=... HTTP/1.1``) at
    DEBUG: redact them before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


for _name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, ScrubSecretsFilter) for f in _logger.filters):
        _logger.addFilter(ScrubSecretsFilter())


# --- Time -------------------------------------------------------------------
class Clock:
    """Wall-clock seconds and sleeping; tests pass a FakeClock."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock(Clock):
    """A clock that only moves when told to (or when something 'sleeps')."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- Rate limiting -------------------------------------------------------------
class RateLimiter:
    """At most ``calls`` acquisitions per ``period`` seconds (sliding window).

    ``try_acquire`` never waits: it returns 0 when the call may go now (and
    counts it), else the seconds until a slot frees. Callers defer the work
    rather than block a worker.
    """

    def __init__(self, calls: int, period: float, clock: Clock):
        self.calls, self.period, self.clock = calls, period, clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def try_acquire(self) -> float:
        with self._lock:
            now = self.clock.time()
            while self._stamps and now - self._stamps[0] >= self.period:
                self._stamps.popleft()
            if len(self._stamps) < self.calls:
                self._stamps.append(now)
                return 0.0
            return self._stamps[0] + self.period - now


# Limiters outlive one stage run (a worker processes many batches), keyed by
# schema, provider and limit, so tenants never share a budget.
_limiters: dict[tuple, RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(key: tuple, *, calls: int, period: float, clock: Clock) -> RateLimiter:
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None or limiter.clock is not clock:
            limiter = _limiters[key] = RateLimiter(calls, period, clock)
        return limiter


def reset_limiters() -> None:
    with _limiters_lock:
        _limiters.clear()


# --- HTTP -------------------------------------------------------------------------
@dataclass
class HttpClient:
    """A requests session with a timeout on every call and retries with
    exponential back-off for 5xx, timeouts and connection errors. 4xx answers
    are returned to the caller, which knows what they mean for its provider."""

    name: str
    secrets: tuple[str, ...] = ()
    clock: Clock = field(default_factory=Clock)
    timeout: float = field(default_factory=lambda: settings.PROVIDER_TIMEOUT)
    retries: int = field(default_factory=lambda: settings.PROVIDER_RETRIES)
    backoff: float = field(default_factory=lambda: settings.PROVIDER_BACKOFF)
    session: requests.Session = field(default_factory=requests.Session)
    calls: int = 0

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.clock.sleep(self.backoff * 2 ** (attempt - 1))
            self.calls += 1
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.Timeout:
                last_problem = f"timed out after {self.timeout}s"
            except requests.RequestException as exc:
                # The exception text holds the full URL, query string included.
                last_problem = scrub(f"connection failed: {exc.__class__.__name__}: {exc}", self.secrets)
            else:
                if response.status_code < 500:
                    return response
                last_problem = f"HTTP {response.status_code}"
            log.warning("%s: attempt %d failed (%s)", self.name, attempt + 1, last_problem)
        # `from None`: the chained requests exception would print the key-bearing URL.
        raise TransientError(f"{self.name}: {last_problem} (after {self.retries + 1} attempts)") from None

    def json(self, response: requests.Response) -> dict | list:
        try:
            return response.json()
        except ValueError:
            raise TransientError(f"{self.name}: unreadable response body (HTTP {response.status_code})") from None


def retry_after_seconds(response: requests.Response, default: float = 60.0) -> float:
    """Retry-After as seconds (the header may also be an HTTP date)."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return default


# --- The provider interface --------------------------------------------------------
VERIFICATION_STATUSES = ("valid", "invalid", "catch-all", "unknown", "spamtrap", "abuse", "do_not_mail", "unverified")


@dataclass
class Verdict:
    """One provider's answer about one address. ``final=False`` means the answer
    is temporary (unknown, greylisted, ...) and the address is re-checked later."""

    status: str
    sub_status: str = ""
    did_you_mean: str = ""
    final: bool = True
    details: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What a provider made of a list of inputs.

    results:  input -> answer (a Verdict, an enrichment dict, or None for "no match")
    queued:   inputs the provider accepted but has not answered yet (retry later)
    rejected: input -> message for inputs the provider refuses (this input only)
    error:    why the remaining inputs got no answer (rate limit, outage, configuration)
    """

    results: dict = field(default_factory=dict)
    queued: set = field(default_factory=set)
    rejected: dict = field(default_factory=dict)
    error: ProviderError | None = None
    calls: int = 0
    credits: int = 0


class Provider:
    """One external (or local) service. Subclasses set ``name`` and ``paid`` and
    implement ``verify`` (emails) or ``enrich`` (lookups) returning an Outcome."""

    name = ""
    paid = True
    kind = ""  # "verification" or "enrichment"

    def __init__(self, *, api_key: str = "", base_url: str = "", clock: Clock | None = None, schema: str = "",
                 limiter_factory=None):
        self.api_key = api_key
        self.base_url = (base_url or "").rstrip("/")
        self.clock = clock or Clock()
        self.schema = schema
        # The stages pass a database-backed limiter shared by every worker
        # (registry.db_limiter); a bare client limits within its process.
        self.limiter_factory = limiter_factory or (
            lambda name, calls, period: shared_limiter((name, schema), calls=calls, period=period, clock=self.clock)
        )
        self.http = HttpClient(name=self.name, secrets=(api_key,), clock=self.clock)

    def __repr__(self) -> str:  # never show the key
        return f"<{self.__class__.__name__} {self.base_url}>"

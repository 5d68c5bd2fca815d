"""Smartlead: ``POST /api/v1/campaigns/{id}/leads?api_key=...`` adds leads to a campaign.

Request: ``{"lead_list": [...at most 400], "settings": {"ignore_global_block_list",
"ignore_unsubscribe_list", "ignore_duplicate_leads_in_other_campaign"}}``. Response:
``{"ok": true, "upload_count", "total_leads", "already_added_to_campaign",
"duplicate_count", "invalid_email_count", "unsubscribed_leads", "block_count"}``.
Smartlead allows 10 requests per 2 seconds and answers 429 beyond that.

The key travels in the query string, so it is scrubbed from every error message and
from urllib3's request log lines.
"""
import logging

import requests

from leads.exports.base import ChunkResult, ConfigurationError, Destination, ExportError, scrub
from leads.exports.ratelimit import RateLimiter

MAX_LEADS_PER_REQUEST = 400
REQUESTS_PER_WINDOW = 10
WINDOW_SECONDS = 2.0
MAX_429_RETRIES = 5
SETTINGS = {
    # Respect Smartlead's own do-not-contact lists; never re-add a lead another campaign has.
    "ignore_global_block_list": False,
    "ignore_unsubscribe_list": False,
    "ignore_duplicate_leads_in_other_campaign": False,
}


class _ScrubQueryKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


# urllib3 logs each request line, query string included, at DEBUG.
logging.getLogger("urllib3.connectionpool").addFilter(_ScrubQueryKeys())


def smartlead_lead(row: dict) -> dict:
    custom = {k: v if isinstance(v, (str, int, float, bool)) else str(v)
              for k, v in (row.get("custom_fields") or {}).items() if v is not None}
    if row.get("title"):
        custom.setdefault("job_title", row["title"])
    location = ", ".join(p for p in (row.get("city"), row.get("state"), row.get("country")) if p)
    lead = {
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "phone_number": row["phone"],
        "company_name": row["company"],
        "website": row["website"],
        "location": location,
        "linkedin_profile": row.get("linkedin_url") or "",
        "custom_fields": custom,
    }
    return {k: v for k, v in lead.items() if v not in ("", {})}


class SmartleadDestination(Destination):
    @property
    def batch_size(self) -> int:
        return MAX_LEADS_PER_REQUEST

    def __init__(self, *, base_url: str, api_key: str, campaign_id: str, clock=None,
                 session: requests.Session | None = None, timeout: int = 30):
        if not api_key:
            raise ConfigurationError("No Smartlead API key: set SMARTLEAD_API_KEY or the tenant's export settings.")
        if not str(campaign_id).isdigit():
            raise ConfigurationError("A Smartlead export needs the numeric campaign id as its destination.")
        self.url = f"{base_url.rstrip('/')}/api/v1/campaigns/{campaign_id}/leads"
        self.api_key = api_key
        self.limiter = RateLimiter(limit=REQUESTS_PER_WINDOW, period=WINDOW_SECONDS, clock=clock)
        self.clock = self.limiter.clock
        self.session = session or requests.Session()
        self.timeout = timeout

    def send(self, rows: list[dict]) -> ChunkResult:
        result = ChunkResult()
        for start in range(0, len(rows), MAX_LEADS_PER_REQUEST):
            part = rows[start:start + MAX_LEADS_PER_REQUEST]
            data = self._post({"lead_list": [smartlead_lead(row) for row in part], "settings": SETTINGS})
            added = int(data.get("upload_count") or 0)
            # Smartlead does not say which leads it skipped (already in the campaign,
            # blocked, unsubscribed, invalid): every lead of an accepted request counts as
            # delivered, and its counters say how many it really added.
            result.sent.extend((row["id"], "") for row in part)
            result.details["smartlead_added"] = result.details.get("smartlead_added", 0) + added
            result.details["smartlead_skipped"] = result.details.get("smartlead_skipped", 0) + max(len(part) - added, 0)
            for key in ("already_added_to_campaign", "duplicate_count", "invalid_email_count", "block_count"):
                if isinstance(data.get(key), int):
                    result.details[f"smartlead_{key}"] = result.details.get(f"smartlead_{key}", 0) + data[key]
        return result

    def _post(self, body: dict) -> dict:
        for _ in range(MAX_429_RETRIES + 1):
            self.limiter.wait()
            try:
                response = self.session.post(self.url, params={"api_key": self.api_key}, json=body, timeout=self.timeout)
            except requests.RequestException as exc:
                raise ExportError(f"Smartlead could not be reached: {scrub(exc, self.api_key)}") from None
            if response.status_code == 429:
                self.clock.sleep(_retry_after(response, default=WINDOW_SECONDS))
                continue
            if response.status_code in (401, 403):
                raise ExportError(f"Smartlead refused the API key ({response.status_code}).")
            if response.status_code >= 400:
                raise ExportError(f"Smartlead answered {response.status_code}: {scrub(response.text[:300], self.api_key)}")
            return response.json()
        raise ExportError(f"Smartlead kept answering 429 (rate limited) after {MAX_429_RETRIES} retries.")


def _retry_after(response, *, default: float) -> float:
    try:
        return max(float(response.headers.get("Retry-After", default)), 0.0)
    except ValueError:
        return default

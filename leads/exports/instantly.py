"""Instantly API v2: ``POST /api/v2/leads/add`` (bulk add to a campaign, Bearer key).

Request: ``{"campaign_id", "skip_if_in_workspace", "leads": [{email, first_name, last_name,
company_name, phone, website, personalization, custom_variables}]}``, at most 1000 leads.
Response: counters (``leads_uploaded``, ``skipped_count``, ``in_blocklist``,
``duplicated_leads``, ``invalid_email_count``, ...) and ``created_leads``
``[{"id", "index", "email"}]``; a lead not in ``created_leads`` was skipped by Instantly
(already in the workspace, blocklisted, invalid or a duplicate).
"""
import requests

from leads.exports.base import ChunkResult, ConfigurationError, Destination, ExportError, scrub

MAX_LEADS_PER_REQUEST = 1000
COUNTERS = ("leads_uploaded", "skipped_count", "in_blocklist", "duplicated_leads", "invalid_email_count",
            "duplicate_email_count", "incomplete_count")


def instantly_lead(row: dict) -> dict:
    custom = dict(row.get("custom_fields") or {})
    lead = {
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company_name": row["company"],
        "phone": row["phone"],
        "website": row["website"],
        "personalization": str(custom.pop("personalization", "") or ""),
    }
    # Instantly has no job title field on a lead: it travels as a custom variable,
    # usable in templates as {{job_title}}.
    if row.get("title"):
        custom.setdefault("job_title", row["title"])
    # custom_variables values must be scalars (string, number, boolean or null).
    lead["custom_variables"] = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                                for k, v in custom.items()}
    return {k: v for k, v in lead.items() if v not in ("", {})}


class InstantlyDestination(Destination):
    @property
    def batch_size(self) -> int:
        return MAX_LEADS_PER_REQUEST

    def __init__(self, *, base_url: str, api_key: str, campaign_id: str, skip_if_in_workspace: bool = True,
                 session: requests.Session | None = None, timeout: int = 30):
        if not api_key:
            raise ConfigurationError("No Instantly API key: set INSTANTLY_API_KEY or the tenant's export settings.")
        if not campaign_id:
            raise ConfigurationError("An Instantly export needs a campaign id as its destination.")
        self.url = base_url.rstrip("/") + "/api/v2/leads/add"
        self.api_key = api_key
        self.campaign_id = campaign_id
        self.skip_if_in_workspace = skip_if_in_workspace
        self.session = session or requests.Session()
        self.timeout = timeout

    def send(self, rows: list[dict]) -> ChunkResult:
        result = ChunkResult()
        for start in range(0, len(rows), MAX_LEADS_PER_REQUEST):
            self._send_part(rows[start:start + MAX_LEADS_PER_REQUEST], result)
        return result

    def _send_part(self, rows: list[dict], result: ChunkResult) -> None:
        body = {
            "campaign_id": self.campaign_id,
            "skip_if_in_workspace": self.skip_if_in_workspace,
            "leads": [instantly_lead(row) for row in rows],
        }
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout,
                                         headers={"Authorization": f"Bearer {self.api_key}"})
        except requests.RequestException as exc:
            raise ExportError(f"Instantly could not be reached: {scrub(exc, self.api_key)}") from None
        if response.status_code in (401, 403):
            raise ExportError(f"Instantly refused the API key ({response.status_code}).")
        if response.status_code >= 400:
            raise ExportError(f"Instantly answered {response.status_code}: {scrub(response.text[:300], self.api_key)}")
        data = response.json()
        created = {}
        for item in data.get("created_leads") or []:
            index = item.get("index")
            if isinstance(index, int) and 0 <= index < len(rows):
                created[index] = str(item.get("id") or "")
        for index, row in enumerate(rows):
            if index in created:
                result.sent.append((row["id"], created[index]))
            else:
                result.skipped.append((row["id"], "skipped by Instantly (already in workspace or campaign, "
                                                  "blocklisted, invalid or duplicate)"))
        for key in COUNTERS:
            if isinstance(data.get(key), int):
                result.details[f"instantly_{key}"] = result.details.get(f"instantly_{key}", 0) + data[key]

"""Salesforce: upsert Leads by an external id field with the sObject Collections API.

``PATCH {instance}/services/data/v{version}/composite/sobjects/Lead/{ExternalIdField}``
with ``{"allOrNone": false, "records": [...at most 200]}``; the answer is one result per
record, in order: ``{"id", "success", "created", "errors": [{"statusCode", "message",
"fields"}]}``. With allOrNone false a refused record (``DUPLICATES_DETECTED``,
``REQUIRED_FIELD_MISSING``, ...) fails alone.

The access token comes from the OAuth2 client-credentials flow (``POST token_url`` with
client id and secret) and is fetched again once when a call answers 401.

Salesforce requires ``LastName`` and ``Company`` on a Lead. A lead without a last name
sends its full name, else ``[not provided]``; a lead without a company sends
``[not provided]`` (Salesforce's own web-to-lead convention).
The external id value is the LeadHub lead id.
"""
import requests

from leads.exports.base import ChunkResult, ConfigurationError, Destination, ExportError, scrub

MAX_RECORDS_PER_CALL = 200
NOT_PROVIDED = "[not provided]"
# Salesforce field -> (lead field, maximum length of the standard Lead field).
FIELD_MAP = {
    "FirstName": ("first_name", 40),
    "LastName": ("last_name", 80),
    "Company": ("company", 255),
    "Title": ("title", 128),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Website": ("website", 255),
    "Street": ("street", 255),
    "City": ("city", 40),
    "State": ("state", 80),
    "PostalCode": ("postal_code", 20),
    "Country": ("country", 80),
}


def salesforce_record(row: dict, *, external_id_field: str) -> dict:
    record = {"attributes": {"type": "Lead"}, external_id_field: str(row["id"])}
    for sf_name, (name, max_length) in FIELD_MAP.items():
        value = row.get(name) or ""
        if value:
            record[sf_name] = value[:max_length]
    if not record.get("LastName"):
        record["LastName"] = (row.get("full_name") or NOT_PROVIDED)[:80]
    if not record.get("Company"):
        record["Company"] = NOT_PROVIDED
    return record


class SalesforceDestination(Destination):
    @property
    def batch_size(self) -> int:
        return MAX_RECORDS_PER_CALL

    def __init__(self, *, instance_url: str, token_url: str, client_id: str, client_secret: str,
                 external_id_field: str, api_version: str, session: requests.Session | None = None, timeout: int = 30):
        if not (token_url and client_id and client_secret):
            raise ConfigurationError("Salesforce needs SALESFORCE_TOKEN_URL, SALESFORCE_CLIENT_ID and "
                                     "SALESFORCE_CLIENT_SECRET (or the tenant's export settings).")
        if not external_id_field:
            raise ConfigurationError("Salesforce needs SALESFORCE_EXTERNAL_ID_FIELD (an external id field on Lead).")
        self.instance_url = instance_url.rstrip("/")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.external_id_field = external_id_field
        self.api_version = api_version.lstrip("v") or "60.0"
        self.session = session or requests.Session()
        self.timeout = timeout
        self._token = ""

    def open(self) -> None:
        self._refresh_token()

    def _refresh_token(self) -> None:
        try:
            response = self.session.post(self.token_url, timeout=self.timeout, data={
                "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret,
            })
        except requests.RequestException as exc:
            raise ExportError(f"Salesforce could not be reached: {scrub(exc, self.client_secret)}") from None
        if response.status_code != 200:
            raise ExportError(f"Salesforce refused the OAuth credentials ({response.status_code}): "
                              f"{scrub(response.text[:200], self.client_secret)}")
        data = response.json()
        self._token = data["access_token"]
        # The token answer names the org's instance; a configured URL wins.
        self.instance_url = self.instance_url or str(data.get("instance_url", "")).rstrip("/")
        if not self.instance_url:
            raise ConfigurationError("Salesforce needs SALESFORCE_INSTANCE_URL (the token answer named none).")

    @property
    def url(self) -> str:
        return (f"{self.instance_url}/services/data/v{self.api_version}/composite/sobjects/Lead/"
                f"{self.external_id_field}")

    def send(self, rows: list[dict]) -> ChunkResult:
        result = ChunkResult()
        for start in range(0, len(rows), MAX_RECORDS_PER_CALL):
            part = rows[start:start + MAX_RECORDS_PER_CALL]
            body = {"allOrNone": False,
                    "records": [salesforce_record(row, external_id_field=self.external_id_field) for row in part]}
            answers = self._patch(body)
            if not isinstance(answers, list) or len(answers) != len(part):
                raise ExportError("Salesforce answered with a result list that does not match the records sent.")
            for row, answer in zip(part, answers):
                if answer.get("success"):
                    result.sent.append((row["id"], str(answer.get("id") or "")))
                    key = "salesforce_created" if answer.get("created") else "salesforce_updated"
                    result.details[key] = result.details.get(key, 0) + 1
                else:
                    errors = answer.get("errors") or [{}]
                    reason = "; ".join(f"{e.get('statusCode', 'ERROR')}: {e.get('message', '')}".strip() for e in errors)
                    result.failed.append((row["id"], reason))
        return result

    def _patch(self, body: dict):
        for attempt in (1, 2):
            try:
                response = self.session.patch(self.url, json=body, timeout=self.timeout,
                                              headers={"Authorization": f"Bearer {self._token}"})
            except requests.RequestException as exc:
                raise ExportError(f"Salesforce could not be reached: {scrub(exc)}") from None
            if response.status_code == 401 and attempt == 1:
                self._refresh_token()  # the session expired: one new token, one retry
                continue
            if response.status_code >= 400:
                raise ExportError(f"Salesforce answered {response.status_code}: {scrub(response.text[:300], self._token)}")
            return response.json()
        raise ExportError("Salesforce refused a fresh access token (401).")

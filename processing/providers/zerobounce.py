"""ZeroBounce v2 email validation: single checks, batches of up to 200 emails
(at most 5 batch calls a minute, enforced here), and the credit balance.

The API key travels in the query string or JSON body, so every message built
here goes through ``scrub``.
"""
from processing.providers.base import (
    ConfigurationError, Outcome, Provider, ProviderError, RateLimited, TransientError, Verdict,
    Throttled, retry_after_seconds, scrub,
)

BATCH_SIZE = 200
BATCH_CALLS_PER_MINUTE = 5

# Sub-statuses that describe the moment, not the mailbox: re-check later.
TEMPORARY_SUB_STATUSES = {
    "greylisted", "mail_server_temporary_error", "mail_server_did_not_respond", "timeout_exceeded",
    "forcible_disconnect", "failed_smtp_connection", "antispam_system", "exception_occurred",
    "mailbox_quota_exceeded",
}
KNOWN_STATUSES = {"valid", "invalid", "catch-all", "unknown", "spamtrap", "abuse", "do_not_mail"}


def verdict_from(item: dict) -> Verdict:
    """Map one ZeroBounce result object onto our verdict."""
    status = str(item.get("status") or "unknown").strip().lower()
    if status not in KNOWN_STATUSES:
        status = "unknown"
    sub_status = str(item.get("sub_status") or "").strip().lower()
    return Verdict(
        status=status,
        sub_status=sub_status,
        did_you_mean=str(item.get("did_you_mean") or ""),
        final=status != "unknown" and sub_status not in TEMPORARY_SUB_STATUSES,
        details={
            "free_email": bool(item.get("free_email")),
            "mx_found": str(item.get("mx_found", "")).lower() == "true" if item.get("mx_found") is not None else None,
            "smtp_provider": item.get("smtp_provider") or "",
        },
    )


def _account_problem(message: str) -> bool:
    text = message.lower()
    return "api key" in text or "api_key" in text or "credit" in text


class ZeroBounce(Provider):
    name = "zerobounce"
    kind = "verification"
    paid = True

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v2/{path}"

    def _check_status(self, response) -> None:
        code = response.status_code
        if code in (401, 402, 403):
            raise ConfigurationError(f"zerobounce: configuration problem (HTTP {code}): check the API key and account")
        if code == 429:
            wait = retry_after_seconds(response)
            raise RateLimited(f"zerobounce: rate limited (HTTP 429), retry after {wait:.0f}s", wait)

    def _body(self, response) -> dict:
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise TransientError("zerobounce: unexpected response shape")
        return body

    def _error(self, message: str) -> ProviderError:
        message = scrub(message, (self.api_key,))
        if _account_problem(message):
            return ConfigurationError(f"zerobounce: configuration problem: {message}")
        return TransientError(f"zerobounce: {message}")

    def verify(self, emails: list[str]) -> Outcome:
        """Answers for ``emails``; stops at the first provider-wide problem and
        reports it in ``error`` (the remaining emails are simply unanswered)."""
        outcome = Outcome()
        try:
            if len(emails) == 1:
                self._verify_one(emails[0], outcome)
            else:
                self._verify_batches(emails, outcome)
        except ProviderError as exc:
            outcome.error = exc
        outcome.calls = self.http.calls
        return outcome

    def _verify_one(self, email: str, outcome: Outcome) -> None:
        response = self.http.request(
            "GET", self._url("validate"), params={"api_key": self.api_key, "email": email, "ip_address": ""}
        )
        self._check_status(response)
        if response.status_code >= 400:
            outcome.rejected[email] = f"zerobounce refused the address (HTTP {response.status_code})"
            return
        body = self._body(response)
        if body.get("error"):
            raise self._error(str(body["error"]))
        verdict = verdict_from(body)
        outcome.results[email] = verdict
        outcome.credits += verdict.status != "unknown"  # unknown results are not charged

    def _verify_batches(self, emails: list[str], outcome: Outcome) -> None:
        limiter = self.limiter_factory("zerobounce-batch", BATCH_CALLS_PER_MINUTE, 60.0)
        for start in range(0, len(emails), BATCH_SIZE):
            chunk = emails[start:start + BATCH_SIZE]
            wait = limiter.try_acquire()
            if wait > 0:
                raise Throttled(
                    f"zerobounce: {BATCH_CALLS_PER_MINUTE} batch calls a minute reached, next in {wait:.0f}s", wait
                )
            response = self.http.request(
                "POST", self._url("validatebatch"),
                json={"api_key": self.api_key, "email_batch": [{"email_address": e, "ip_address": ""} for e in chunk]},
            )
            self._check_status(response)
            if response.status_code >= 400:
                raise TransientError(f"zerobounce: batch refused (HTTP {response.status_code})")
            body = self._body(response)
            for err in body.get("errors") or []:
                if not isinstance(err, dict):
                    continue
                address = str(err.get("email_address") or "all")
                if address.lower() == "all" or address not in chunk:
                    raise self._error(str(err.get("error") or "batch error"))
                outcome.rejected[address] = scrub(f"zerobounce: {err.get('error')}", (self.api_key,))
            for item in body.get("email_batch") or []:
                if not isinstance(item, dict):
                    continue  # unanswered addresses simply wait for the next run
                address = item.get("address") or item.get("email_address")
                if address in chunk or (address and address.lower() in chunk):
                    address = address if address in chunk else address.lower()
                    verdict = verdict_from(item)
                    outcome.results[address] = verdict
                    outcome.credits += verdict.status != "unknown"

    def credits(self) -> int:
        """The account's remaining credits (GET /v2/getcredits)."""
        response = self.http.request("GET", self._url("getcredits"), params={"api_key": self.api_key})
        self._check_status(response)
        body = self._body(response)
        try:
            credits = int(body.get("Credits"))
        except (TypeError, ValueError):
            raise TransientError("zerobounce: unreadable credit balance") from None
        if credits < 0:  # ZeroBounce answers -1 for an unknown key
            raise ConfigurationError("zerobounce: configuration problem: the API key was not accepted")
        return credits


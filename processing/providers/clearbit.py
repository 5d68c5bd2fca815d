"""Clearbit (HubSpot's Breeze Intelligence): person + company by email, company
by domain. HTTP Basic auth with the key as user name.

Status codes: 200 answer, 202 queued (ask again later), 404 no match,
401/402/403 account problem, 422 bad input for this lookup, 429 Retry-After,
5xx/timeouts retried by the HTTP client and then given up for this run.
"""
from django.conf import settings

from processing.providers.base import (
    ConfigurationError, Outcome, Provider, ProviderError, RateLimited, Throttled, TransientError, retry_after_seconds,
)

# A lookup is ("email", address) or ("domain", company domain).
Lookup = tuple[str, str]


def map_person_company(person: dict | None, company: dict | None) -> dict:
    """Clearbit objects -> our flat enrichment fields (empty values dropped).

    Contact-field names (first_name, title, city, ...) match Lead fields so the
    stage can fill the ones a person left empty; the rest are extra facts for
    scoring and review.
    """
    def obj(value) -> dict:  # a provider changing a shape must not crash the stage
        return value if isinstance(value, dict) else {}

    person, company = obj(person), obj(company)
    name, employment, geo = obj(person.get("name")), obj(person.get("employment")), obj(person.get("geo"))
    linkedin = str(obj(person.get("linkedin")).get("handle") or "")
    category, metrics, cgeo = obj(company.get("category")), obj(company.get("metrics")), obj(company.get("geo"))
    fields = {
        "first_name": name.get("givenName"),
        "last_name": name.get("familyName"),
        "full_name": name.get("fullName"),
        "title": employment.get("title"),
        "role": employment.get("role"),
        "sub_role": employment.get("subRole"),
        "seniority": employment.get("seniority"),
        "linkedin_url": f"https://www.linkedin.com/{linkedin.lstrip('/')}" if linkedin else None,
        "city": geo.get("city"),
        "state": geo.get("state"),
        "country": geo.get("country"),
        "company": company.get("name") or employment.get("name"),
        "company_domain": company.get("domain") or employment.get("domain"),
        "website": f"https://{company['domain']}" if company.get("domain") else None,
        "sector": category.get("sector"),
        "industry_group": category.get("industryGroup"),
        "industry": category.get("industry"),
        "sub_industry": category.get("subIndustry"),
        "employees": metrics.get("employees"),
        "employees_range": metrics.get("employeesRange"),
        "annual_revenue": metrics.get("annualRevenue") or metrics.get("estimatedAnnualRevenue"),
        "company_city": cgeo.get("city"),
        "company_country": cgeo.get("country"),
        "tech": company.get("tech") or None,
    }
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


class Clearbit(Provider):
    name = "clearbit"
    kind = "enrichment"
    paid = True

    def _find(self, lookup: Lookup):
        by, value = lookup
        if by == "email":
            url, params = f"{self.base_url}/v2/combined/find", {"email": value}
        else:
            url, params = f"{self.base_url}/v2/companies/find", {"domain": value}
        return self.http.request("GET", url, params=params, auth=(self.api_key, ""))

    def enrich(self, lookups: list[Lookup]) -> Outcome:
        """Answers keyed by lookup: {"person": ..., "company": ...}, or None for no match.
        Stops at the first provider-wide problem (``error``); later lookups stay unanswered."""
        outcome = Outcome()
        started = self.clock.time()
        try:
            for lookup in lookups:
                # One lookup per call: a long list must not outlive the worker's task timeout.
                if self.clock.time() - started > settings.PROVIDER_RUN_SECONDS:
                    raise Throttled("clearbit: time budget of this run used; the rest waits for the next run", 60.0)
                response = self._find(lookup)
                code = response.status_code
                if code == 200:
                    body = self.http.json(response)
                    if not isinstance(body, dict):
                        raise TransientError("clearbit: unexpected response shape")
                    if lookup[0] == "email":
                        answer = {"person": body.get("person"), "company": body.get("company")}
                    else:
                        answer = {"person": None, "company": body}
                    outcome.results[lookup] = answer
                    outcome.credits += 1
                elif code == 202:
                    outcome.queued.add(lookup)
                elif code == 404:
                    outcome.results[lookup] = None
                elif code in (401, 402, 403):
                    raise ConfigurationError(
                        f"clearbit: configuration problem (HTTP {code}): check the API key, plan and billing"
                    )
                elif code == 422:
                    outcome.rejected[lookup] = f"clearbit: invalid {lookup[0]} ({self._message(response)})"
                elif code == 429:
                    wait = retry_after_seconds(response)
                    raise RateLimited(f"clearbit: rate limited (HTTP 429), retry after {wait:.0f}s", wait)
                else:
                    raise TransientError(f"clearbit: unexpected HTTP {code}")
        except ProviderError as exc:
            outcome.error = exc
        outcome.calls = self.http.calls
        return outcome

    def _message(self, response) -> str:
        try:
            error = response.json().get("error") or {}
            return str(error.get("message") or error.get("type") or "unprocessable")[:200]
        except (ValueError, AttributeError):
            return "unprocessable"

"""Lead scoring: a weighted 0-100 score with a breakdown a reviewer can read.

Each factor contributes ``weight x fit`` points (fit between 0 and 1, or 1 for a
penalty that applies); the sum is clamped to 0..100. Weights come from
``TenantSettings.weights()``; the ideal customer profile from ``icp_rules``:

    {"seniorities": ["c_level", "vp", "director"], "departments": ["sales", ...],
     "industries": ["software", ...], "employees_min": 50, "employees_max": 5000,
     "sources": {"referral": 1.0, "csv": 0.5}}

The score depends only on the lead's fields and the settings: same inputs, same
score.
"""
from collections.abc import Iterable
from operator import attrgetter

from leads.models import Lead, TenantSettings

DEFAULT_ICP = {
    "seniorities": ["c_level", "vp", "director", "manager"],
    "seniority_fit": {"c_level": 1.0, "vp": 1.0, "director": 0.8, "manager": 0.5, "individual": 0.2},
    "departments": ["sales", "marketing"],
    "industries": [],
    "employees_min": 50,
    "employees_max": 5000,
    # Unlisted sources get half the points.
    "sources": {"referral": 1.0, "event": 0.8, "api": 0.5, "csv": 0.5},
}

GOOD_VERIFICATION = {"valid": 1.0, "catch-all": 0.4, "unknown": 0.2}
BAD_VERIFICATION = ("invalid", "spamtrap", "abuse", "do_not_mail")
COMPLETENESS_FIELDS = ("email", "first_name", "last_name", "phone", "company", "title", "website", "country")
_completeness_values = attrgetter(*COMPLETENESS_FIELDS)


def icp_for(settings: TenantSettings) -> dict:
    return {**DEFAULT_ICP, **(settings.icp_rules or {})}


def _factor(out: list, factor: str, points: float, reason: str) -> None:
    out.append({"factor": factor, "points": round(points, 1), "reason": reason})


def _employees(enrichment: dict):
    if not enrichment:  # most leads: enrichment off or nothing found
        return None
    company = enrichment.get("company") or {}
    value = company.get("employees") or company.get("metrics", {}).get("employees") if isinstance(company, dict) else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _industry(enrichment: dict) -> str:
    if not enrichment:
        return ""
    company = enrichment.get("company") or {}
    if not isinstance(company, dict):
        return ""
    industry = company.get("industry") or (company.get("category") or {}).get("industry") or ""
    return str(industry)


def score_lead(lead: Lead, *, weights: dict, icp: dict) -> tuple[int, list[dict]]:
    """Score one lead; returns (score, breakdown)."""
    flags = lead.normalized or {}
    out: list[dict] = []
    w = weights

    # Email: syntax, then what verification said about the mailbox.
    if lead.email:
        if flags.get("email_valid", bool(lead.email_key)):
            _factor(out, "email_valid", w["email_valid"], "email address is well-formed")
        else:
            _factor(out, "email_valid", 0, "email address is malformed")
    else:
        _factor(out, "email_valid", 0, "no email address")
    status = (lead.verification_status or (lead.verification or {}).get("status") or "").lower()
    if status in GOOD_VERIFICATION:
        _factor(out, "email_verified", w["email_verified"] * GOOD_VERIFICATION[status], f"verification: {status}")
    elif status in BAD_VERIFICATION:
        _factor(out, "email_verified", -abs(w["email_verified"]), f"verification: {status}, do not send")
    elif lead.email:
        _factor(out, "email_verified", 0, "email not verified")
    if flags.get("is_free"):
        _factor(out, "free_mail", w["free_mail"], "free-mail address, not a company mailbox")
    if flags.get("is_disposable"):
        _factor(out, "disposable", w["disposable"], "disposable email domain")
    if flags.get("is_role"):
        _factor(out, "role_account", w["role_account"], "role account (info@, sales@ ...), not a person")

    if lead.phone:
        if flags.get("phone_valid", bool(lead.phone_key)):
            _factor(out, "phone_valid", w["phone_valid"], "valid phone number")
        else:
            _factor(out, "phone_valid", w["phone_valid"] * 0.3, "phone number present but not valid")
    else:
        _factor(out, "phone_valid", 0, "no phone number")

    seniority_fit = icp.get("seniority_fit", {})
    if lead.seniority:
        if lead.seniority in icp["seniorities"]:
            fit = seniority_fit.get(lead.seniority, 1.0)
        else:  # outside the target seniorities: a token at most
            fit = min(seniority_fit.get(lead.seniority, 0.0), 0.2)
        _factor(out, "seniority", w["seniority"] * fit, f"seniority {lead.seniority}")
    else:
        _factor(out, "seniority", 0, "seniority unknown")
    if lead.department:
        fit = 1.0 if lead.department in icp["departments"] else 0.0
        _factor(out, "department", w["department"] * fit,
                f"department {lead.department} {'is' if fit else 'is not'} a target")
    else:
        _factor(out, "department", 0, "department unknown")

    employees = _employees(lead.enrichment)
    if employees is not None:
        low, high = icp.get("employees_min") or 0, icp.get("employees_max") or 10**9
        fit = 1.0 if low <= employees <= high else 0.0
        _factor(out, "company_size", w["company_size"] * fit,
                f"{employees} employees, target {low}-{high}")
    industry = _industry(lead.enrichment)
    if industry and icp.get("industries"):
        fit = 1.0 if industry.lower() in {i.lower() for i in icp["industries"]} else 0.0
        _factor(out, "industry", w["industry"] * fit, f"industry {industry} {'is' if fit else 'is not'} a target")

    filled = sum(map(bool, _completeness_values(lead)))
    _factor(out, "completeness", w["completeness"] * filled / len(COMPLETENESS_FIELDS),
            f"{filled} of {len(COMPLETENESS_FIELDS)} contact fields filled")
    sources = icp.get("sources") or {}
    fit = float(sources.get(lead.source, 0.5))
    _factor(out, "source", w["source"] * fit, f"source {lead.source}")

    total = sum(item["points"] for item in out)
    return max(0, min(100, round(total))), out


def score_leads(leads: Iterable[Lead], *, settings: TenantSettings) -> None:
    """Set ``score`` (0-100) and ``score_breakdown`` ([{factor, points, reason}]) on
    each lead in memory; the caller writes them."""
    weights, icp = settings.weights(), icp_for(settings)
    for lead in leads:
        lead.score, lead.score_breakdown = score_lead(lead, weights=weights, icp=icp)

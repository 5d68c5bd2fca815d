import pytest

from leads.models import Lead, TenantSettings
from processing.scoring import score_leads

pytestmark = pytest.mark.django_db


def _lead(**fields):
    base = dict(email="cto@acme.com", email_key="cto@acme.com", first_name="Ann", last_name="Lee", phone="+14155550100",
                phone_key="+14155550100", company="Acme", title="CTO", website="acme.com", country="US",
                seniority="c_level", department="engineering", source="referral",
                normalized={"email_valid": True, "phone_valid": True, "is_free": False, "is_role": False,
                            "is_disposable": False})
    normalized = {**base["normalized"], **fields.pop("normalized", {})}
    return Lead(**{**base, **fields, "normalized": normalized})


def _score(lead, settings=None):
    score_leads([lead], settings=settings or TenantSettings())
    return lead.score, {item["factor"]: item for item in lead.score_breakdown}


def test_breakdown_lists_each_factor_with_points_and_reason():
    score, factors = _score(_lead(verification_status="valid"))
    assert {"email_valid", "email_verified", "phone_valid", "seniority", "department", "completeness", "source"} <= set(factors)
    assert all(isinstance(f["reason"], str) and f["reason"] for f in factors.values())
    assert score == max(0, min(100, round(sum(f["points"] for f in factors.values()))))
    assert factors["email_verified"]["reason"] == "verification: valid"


@pytest.mark.parametrize("change, factor, sign", [
    (dict(normalized={"is_free": True}), "free_mail", -1),
    (dict(normalized={"is_disposable": True}), "disposable", -1),
    (dict(normalized={"is_role": True}), "role_account", -1),
    (dict(verification_status="invalid"), "email_verified", -1),
    (dict(verification_status="spamtrap"), "email_verified", -1),
    (dict(verification_status="do_not_mail"), "email_verified", -1),
])
def test_penalties_lower_the_score(change, factor, sign):
    base, _ = _score(_lead(verification_status="unknown"))
    lowered, factors = _score(_lead(**{"verification_status": "unknown", **change}))
    assert lowered < base
    assert factors[factor]["points"] * sign > 0


@pytest.mark.parametrize("status, better_than", [("valid", "catch-all"), ("catch-all", "unknown"), ("unknown", "invalid")])
def test_verification_results_rank(status, better_than):
    assert _score(_lead(verification_status=status))[0] > _score(_lead(verification_status=better_than))[0]


def test_seniority_department_size_and_industry_follow_icp_rules():
    settings = TenantSettings(icp_rules={"departments": ["engineering"], "industries": ["Software"],
                                         "employees_min": 10, "employees_max": 500})
    fit = _lead(enrichment={"company": {"employees": 120, "industry": "Software"}})
    misfit = _lead(seniority="individual", department="finance",
                   enrichment={"company": {"employees": 90000, "industry": "Mining"}})
    fit_score, fit_factors = _score(fit, settings)
    misfit_score, misfit_factors = _score(misfit, settings)
    assert fit_factors["company_size"]["points"] > 0 and misfit_factors["company_size"]["points"] == 0
    assert fit_factors["industry"]["points"] > 0 and misfit_factors["industry"]["points"] == 0
    assert misfit_factors["department"]["points"] == 0
    assert fit_score > misfit_score


def test_weights_from_settings_change_the_score():
    lead = _lead(normalized={"is_free": True})
    default, _ = _score(lead)
    harsher, factors = _score(lead, TenantSettings(scoring_weights={"free_mail": -40}))
    assert factors["free_mail"]["points"] == -40 and harsher == default - 30


def test_score_is_clamped_and_deterministic():
    worst = _lead(email="x", email_key="", phone="", phone_key="", seniority="", department="", source="spam",
                  verification_status="abuse",
                  normalized={"email_valid": False, "is_free": True, "is_disposable": True, "is_role": True})
    assert _score(worst)[0] == 0
    best = TenantSettings(scoring_weights={k: 100 for k in ("email_valid", "email_verified", "phone_valid")})
    assert _score(_lead(verification_status="valid"), best)[0] == 100
    assert _score(_lead())[1] == _score(_lead())[1]

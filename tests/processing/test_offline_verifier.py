"""The free offline verifier: table-driven checks."""
import pytest

from processing.providers.offline import OfflineVerifier, check_email, suggest_domain


@pytest.mark.parametrize("email, status, sub_status", [
    ("not-an-email", "invalid", "failed_syntax_check"),
    ("two@@signs.com", "invalid", "failed_syntax_check"),
    ("someone@", "invalid", "failed_syntax_check"),
    ("temp@mailinator.com", "do_not_mail", "disposable"),
    ("ann@gmial.com", "invalid", "possible_typo"),
    ("ann@hotmial.com", "invalid", "possible_typo"),
    ("ann@gmail.con", "invalid", "possible_typo"),
    ("ann@yahooo.com", "invalid", "possible_typo"),
    ("info@acme.com", "unverified", "role_based"),
    ("ann@gmail.com", "unverified", ""),
    ("ann.lee@acme-industries.com", "unverified", ""),
    ("ann@mail.com", "unverified", ""),   # a real provider one letter from gmail.com
    ("ann@ymail.com", "unverified", ""),
    ("ann@aol.con", "invalid", "possible_typo"),
    ("ann@mc.com", "unverified", ""),       # one letter from me.com, but a name of its own
    ("ann@strange.fr", "unverified", ""),   # two edits from orange.fr: not a typo
    ("ann@gamil.com", "invalid", "possible_typo"),
])
def test_verdicts(email, status, sub_status):
    verdict = check_email(email)
    assert (verdict.status, verdict.sub_status) == (status, sub_status)
    # Only hopeless answers are final; the rest go on to the paid providers.
    assert verdict.final is (status != "unverified")


def test_typo_comes_with_a_suggestion():
    assert check_email("Ann@gmial.com").did_you_mean == "Ann@gmail.com"
    assert suggest_domain("outlok.com") == "outlook.com"
    assert suggest_domain("acme.com") == ""


def test_flags_free_mail_and_role_accounts():
    assert check_email("ann@gmail.com").details == {"free_email": True, "role_account": False, "disposable": False}
    assert check_email("sales@acme.com").details["role_account"] is True
    assert check_email("sales@acme.com").details["free_email"] is False


def test_mx_is_not_looked_up_unless_asked(settings):
    settings.VERIFY_MX = False
    verdict = OfflineVerifier().verify(["ann@no-such-domain-zz.com"]).results["ann@no-such-domain-zz.com"]
    assert "mx_found" not in verdict.details and verdict.status == "unverified"


def test_mx_lookup_that_cannot_answer_condemns_nobody(settings):
    # No network on these machines: DNS cannot tell, so the address is not condemned.
    settings.VERIFY_MX = True
    settings.MX_TIMEOUT = 0.3
    verdict = OfflineVerifier().verify(["ann@leadhub-test-domain.example"]).results["ann@leadhub-test-domain.example"]
    assert verdict.status in ("unverified", "invalid")
    if verdict.status == "invalid":  # only a definite "no such domain" from DNS may condemn
        assert verdict.sub_status == "no_dns_entries" and verdict.details["mx_found"] is False
    else:
        assert verdict.details["mx_found"] in (None, True)


@pytest.mark.parametrize("email", [
    "temp@mailinator.com", "ann@gmial.com", "Ann@gmial.com", "info@acme.com", "ann@gmail.com", "ann@aol.con",
    "ann..lee@acme.com", "Postmaster@gmial.com", "ann@xn--bcher-kva.de", "ann.lee@acme-industries.com",
])
def test_a_domain_already_validated_gives_the_same_verdict(email):
    """Normalization validated the domain: the verifier skips that check, not its outcome."""
    assert check_email(email, domain_valid=True) == check_email(email)

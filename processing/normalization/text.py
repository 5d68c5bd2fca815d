"""Small text helpers shared by the normalization rules."""
import re
import unicodedata
from functools import lru_cache


# Latin letters that Unicode does not decompose into base letter + accent,
# so NFKD alone would leave them in a "folded" key.
_FOLD_EXTRA = str.maketrans({
    "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss", "ẞ": "ss",
    "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ı": "i",
    "ħ": "h", "Ħ": "h", "ŧ": "t", "Ŧ": "t",
})


_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]")


def squash(value: str | None) -> str:
    """Trim and collapse every run of whitespace (incl. NBSP, tabs, newlines) to one space."""
    if not value:
        return ""
    return " ".join(value.split())


@lru_cache(maxsize=32768)
def fold(value: str) -> str:
    """Case- and accent-folded text: "Müller" -> "muller", "Søren" -> "soren".

    Only combining marks are dropped, so letters of non-Latin scripts (张伟, Иванов)
    survive, lowercased where the script has case.
    """
    if value.isascii():  # nothing to decompose or translate; casefold is lower for ASCII
        return value.lower()
    value = value.translate(_FOLD_EXTRA)
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=32768)
def letters_key(value: str) -> str:
    """Folded letters and digits only: "van der Berg" -> "vanderberg", "O'Brien" -> "obrien"."""
    folded = fold(value)
    if folded.isascii():
        return _NOT_ASCII_ALNUM.sub("", folded)
    return "".join(ch for ch in folded if ch.isalnum())

"""Phone numbers: E.164 with phonenumbers, read in the lead's country."""
import re
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
    region_code_for_country_code,
)
from phonenumbers.phonenumberutil import (
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    COUNTRY_CODE_TO_REGION_CODE,
    _extract_country_code,
    _maybe_strip_national_prefix_carrier_code,
    _set_italian_leading_zeros_for_phone_number,
    _test_number_length,
)
from phonenumbers.re_util import re_compile

# The private helpers above are phonenumbers' own steps, reused so the fast paths below
# answer exactly as the library does (the version is pinned; tests compare the two).

# Keep every compiled metadata pattern: with numbers from many regions the re module's
# own 512-entry cache churns, and re-compiling was a tenth of the parsing time.
phonenumbers.enable_pattern_cache()

SUPPORTED_REGIONS = phonenumbers.SUPPORTED_REGIONS

_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_ERRORS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length for its country",
}
_LABEL = re.compile(r"^\s*(?:tel|phone|mobile|mob|cell|fax|t|m|p)\s*[:.]\s*", re.I)
_SEPARATORS = re.compile(r"\s*(?:/|;|,|\bor\b|\|)\s*")
_MAYBE_SEVERAL = re.compile(r"[/;,|]|or")


class PhoneResult(NamedTuple):
    phone: str       # E.164 when the number could be read, otherwise exactly as given
    key: str         # E.164 match key, "" when the number could not be read
    valid: bool      # phonenumbers says the number exists in its region's numbering plan
    type: str        # mobile, fixed_line … ("" when unread)
    region: str      # ISO country of the number ("" when unknown)
    extension: str
    error: str       # why it could not be read or is not valid


EMPTY = PhoneResult("", "", False, "", "", "", "")


@lru_cache(maxsize=8192)
def normalize_phone(value: str, region: str) -> PhoneResult:
    """Read ``value`` as a phone number dialled from ``region`` (ISO alpha-2).

    A number of a possible length becomes E.164 and its key, even when it is not valid
    in its numbering plan (``valid`` says so; fictional 555 numbers are common in test
    data). A number that cannot be read, or a placeholder such as 000-000-0000, is kept
    exactly as given, with no key and an ``error``. Only the first of several numbers ("… / …") is used.
    """
    if not value or not value.strip():
        return EMPTY
    text = value.strip()
    if text[:1].isalpha():  # "tel:", "Phone:", "M." …
        text = _LABEL.sub("", text)
    if _MAYBE_SEVERAL.search(text):
        text = _SEPARATORS.split(text, maxsplit=1)[0]
    region = region.upper() if region and region.upper() in SUPPORTED_REGIONS else "US"
    try:
        number = parse_international(text) or phonenumbers.parse(text, region)
    except NumberParseException as exc:
        number = _retry_international(text)
        if number is None:
            return PhoneResult(value, "", False, "", "", "", _PARSE_ERRORS.get(exc.error_type, "not a phone number"))
    if _is_placeholder(phonenumbers.national_significant_number(number)):
        return PhoneResult(value, "", False, "", "", "", "a placeholder, not a real number")
    kind, number_region = _type_and_region(number)
    if kind == PhoneNumberType.UNKNOWN:  # not valid: is it at least of a possible length?
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
            retried = _retry_international(text)
            if retried is None:
                return PhoneResult(value, "", False, "", "", "", _LENGTH_ERRORS.get(possible, "wrong length"))
            number = retried
            kind, number_region = _type_and_region(number)
    valid = kind != PhoneNumberType.UNKNOWN
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneResult(e164, e164, valid, _TYPE_NAMES.get(kind, "unknown"), number_region,
                       number.extension or "", "" if valid else "not a valid number in its numbering plan")


# "+44 20 7946 0958", "+1-415-555-2671": a plus, digits, single spaces or hyphens.
_PLUS_DIGITS = re.compile(r"\+[1-9][0-9]*(?:[ -][0-9]+)*", re.ASCII)


def parse_international(text: str):
    """phonenumbers.parse() of a number written "+<country code> <digits>" with
    only spaces or hyphens between the digits, or None for any other text (and for
    anything parse() would refuse): the caller then calls parse() itself.

    For such text parse()'s first steps change nothing (no label, extension,
    letters or second number to strip; the region it is read in does not matter
    after a "+"), so this starts at the country code, with parse()'s own helpers
    for the national prefix and the lengths: the same PhoneNumber for a third of
    the time.
    """
    if len(text) > 64 or not _PLUS_DIGITS.fullmatch(text):
        return None
    digits = text[1:].replace(" ", "").replace("-", "")
    if len(digits) <= _MIN_LENGTH_FOR_NSN:
        return None
    country_code, national = _extract_country_code(digits)
    if country_code == 0 or len(national) < _MIN_LENGTH_FOR_NSN:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code,
                                                                 region_code_for_country_code(country_code))
    if metadata is not None:
        _carrier, potential, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
        if _test_number_length(potential, metadata) not in (ValidationResult.TOO_SHORT,
                                                            ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                                                            ValidationResult.INVALID_LENGTH):
            national = potential
    if not _MIN_LENGTH_FOR_NSN <= len(national) <= _MAX_LENGTH_FOR_NSN:
        return None
    number = PhoneNumber(country_code=country_code)
    _set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number



def _type_and_region(number) -> tuple[int, str]:
    """(PhoneNumberType, region) of a parsed number; region "" unless the number is valid.

    phonenumbers.region_code_for_number() and number_type() in one pass: for a
    calling code shared by several regions (+44: GB, GG, IM, JE; +1: the NANP) the
    region is the first whose patterns the number matches, and that match is the
    type too, so it is not computed twice. The type is UNKNOWN exactly when
    is_valid_number() is False: both match the same region's patterns.
    """
    national = phonenumbers.national_significant_number(number)
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code)
    region, kind = None, None
    if regions is not None and len(regions) == 1:
        region = regions[0]
    elif regions is not None:
        for candidate in regions:
            metadata = PhoneMetadata.metadata_for_region(candidate, None)
            if metadata is None:
                continue
            if metadata.leading_digits is not None:
                if re_compile(metadata.leading_digits).match(national):
                    region = candidate
                    break
            else:
                kind = number_type(national, metadata)
                if kind != PhoneNumberType.UNKNOWN:
                    region = candidate
                    break
                kind = None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(number.country_code, region)
    if metadata is None:
        return PhoneNumberType.UNKNOWN, ""
    if kind is None:
        kind = number_type(national, metadata)
    if kind == PhoneNumberType.UNKNOWN or region in (None, "001", "ZZ"):
        region = ""
    return kind, region


# phonenumbers' _number_type_helper checks the types in this order, then mobile.
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE), ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST), ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER), ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN), ("voicemail", PhoneNumberType.VOICEMAIL),
    ("fixed_line", PhoneNumberType.FIXED_LINE),
)
# (id(metadata), length) -> (metadata, general, combined, kinds, mobile); bounded by
# the regions times the lengths of their numbers. The metadata is kept so its id stays its own.
_MATCHERS: dict[tuple[int, int], tuple] = {}


def _desc_pattern(desc, length: int) -> str | None:
    """The desc's pattern if a national number of ``length`` digits can match it
    (phonenumbers' _is_number_matching_desc, its length test done once)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern


def _matcher(metadata, length: int) -> tuple:
    key = (id(metadata), length)
    found = _MATCHERS.get(key)
    if found is None:
        general = _desc_pattern(metadata.general_desc, length)
        alternatives = [(kind, pattern) for attr, kind in _TYPE_ORDER
                        if (pattern := _desc_pattern(getattr(metadata, attr), length))]
        # One alternation, tried in the same order as the separate checks: a full
        # match takes the first alternative that matches the whole number.
        combined = re.compile("|".join(f"(?P<k{i}>{pattern})" for i, (_kind, pattern) in enumerate(alternatives))) \
            if alternatives else None
        mobile = None if metadata.same_mobile_and_fixed_line_pattern else _desc_pattern(metadata.mobile, length)
        found = (metadata, re.compile(general) if general else None, combined,
                 {f"k{i}": kind for i, (kind, _pattern) in enumerate(alternatives)},
                 re.compile(mobile) if mobile else None)
        _MATCHERS[key] = found
    return found[1:]


def number_type(national: str, metadata) -> int:
    """phonenumbers' _number_type_helper(national, metadata), the same answer for
    every number, with its ten pattern checks folded into one regular expression
    per region and number length (a third of the cost)."""
    general, combined, kinds, mobile = _matcher(metadata, len(national))
    if general is None or not general.fullmatch(national):
        return PhoneNumberType.UNKNOWN
    match = combined.fullmatch(national) if combined is not None else None
    if match is not None:
        # The named group around the alternative that matched closes last.
        kind = kinds[match.lastgroup]
        if kind != PhoneNumberType.FIXED_LINE:
            return kind
        if metadata.same_mobile_and_fixed_line_pattern or (mobile is not None and mobile.fullmatch(national)):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if mobile is not None and mobile.fullmatch(national):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


_RUNS = ("12345678901234567890", "01234567890123456789", "98765432109876543210")


# Every start of a run that is 7 digits or longer: a number is a run when it is one of them.
_RUN_STARTS = frozenset(run[:length] for run in _RUNS for length in range(7, len(run) + 1))


def _is_placeholder(national_number: str) -> bool:
    """000-000-0000, 555-555-5555, 123-456-7890: typed to fill a required field. With a key
    they would make every lead that typed them one lead."""
    return len(set(national_number)) <= 1 or national_number in _RUN_STARTS


def _retry_international(text: str):
    """"0049 30 …" typed by someone outside the NANP: the 00 prefix means international."""
    digits = text.lstrip()
    if not digits.startswith("00"):
        return None
    try:
        number = phonenumbers.parse("+" + digits[2:], None)
    except NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None

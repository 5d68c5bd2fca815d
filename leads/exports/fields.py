"""The lead fields an export can read, and cell sanitising for spreadsheets."""
import re

# Columns read from the database for every export row (values() keys).
READ_FIELDS = (
    "id", "email", "first_name", "last_name", "full_name", "phone", "company", "title", "website",
    "linkedin_url", "street", "city", "state", "postal_code", "country", "custom_fields", "score",
    "verification_status", "source", "status", "seniority", "department", "country_code", "domain",
    "created_at",
)
# What a custom CSV template column may name (besides custom_fields.<key>).
EXPORT_FIELDS = tuple(f for f in READ_FIELDS if f != "custom_fields")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("+14155550100", "-3") is not a formula even if it starts with + or -;
# leaving it untouched keeps E.164 phone numbers intact.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d .()-]*\Z")


def validate_field_name(name: str) -> str:
    """An error message for a template column's field, or '' when it is valid."""
    if name in EXPORT_FIELDS:
        return ""
    if name.startswith("custom_fields.") and len(name) > len("custom_fields."):
        return ""
    return f"Unknown lead field '{name}'. Use one of {', '.join(EXPORT_FIELDS)} or custom_fields.<key>."


def field_value(row: dict, name: str) -> object:
    if name.startswith("custom_fields."):
        return (row.get("custom_fields") or {}).get(name[len("custom_fields."):])
    return row.get(name)


def cell(value: object) -> str:
    """A value as a CSV cell, neutralised against spreadsheet formula injection (OWASP:
    prefix a quote to text starting with = + - @ tab or carriage return)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else (value.isoformat() if hasattr(value, "isoformat") else str(value))
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text

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
# ASCII digits only, exactly like NEUTRALISE_SQL below.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d .()-]*\Z", re.ASCII)


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


# --- the same rules in SQL, so the database hands over finished cells ---------------

# cell() of a text expression ({0}; NULL for an empty value) in SQL: a quote before a
# formula start (= + - @ tab CR, compared as code points: cheaper than as text) unless
# the text is a plain number (the _PLAIN_NUMBER rule).
NEUTRALISE_SQL = (
    "CASE WHEN ascii({0}) IN (61, 43, 45, 64, 9, 13) "
    "AND {0} !~ '^[+-]?[0-9][0-9 .()-]*$' THEN '''' || {0} ELSE {0} END"
)
_INTEGER_RE = "^-?[0-9]+$"
_TEXT_TYPES = ("CharField", "TextField", "EmailField", "URLField", "SlugField")
_INTEGER_TYPES = ("AutoField", "BigAutoField", "SmallIntegerField", "IntegerField", "BigIntegerField",
                  "PositiveSmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField")


def custom_key(name: str) -> str | None:
    """The key of a ``custom_fields.<key>`` column, None for a lead field."""
    return name[len("custom_fields."):] if name.startswith("custom_fields.") else None


def value_sql(name: str, *, alias: str = "l") -> str | None:
    """SQL computing ``field_value(row, name)`` of a lead field (custom fields: see
    custom_value_sql) as the text cell() makes of it, NULL where the Python value is
    falsy (so ``or default`` applies); None when the field's type has no SQL version
    (the caller then formats rows in Python)."""
    from django.core.exceptions import FieldDoesNotExist

    from leads.models import Lead

    try:
        field = Lead._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    column = f"{alias}.{field.column}"
    kind = field.get_internal_type()
    if kind in _TEXT_TYPES:
        return f"NULLIF({column}, '')"
    if kind in _INTEGER_TYPES:
        return f"NULLIF({column}, 0)::text"
    if kind == "DateTimeField":
        # datetime.isoformat() of the UTC value: a fraction only when there are microseconds.
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_part('microseconds', {column})::bigint "
                f"%% 1000000 <> 0 THEN to_char({utc}, '.US') ELSE '' END || '+00:00'")
    return None


def custom_value_sql(value: str) -> str:
    """SQL for the cell text of a custom field's jsonb ``value`` (NULL when missing or
    falsy): strings, booleans (True) and integers. Values whose text Python writes
    differently from their JSON (objects, lists, non-integral numbers: 1.50 -> "1.5")
    come out NULL too and are flagged by custom_exotic_sql(): the caller finishes those
    rows with cell()."""
    return (f"CASE jsonb_typeof({value}) WHEN 'string' THEN NULLIF({value} #>> '{{}}', '') "
            f"WHEN 'boolean' THEN CASE WHEN {value} = 'true'::jsonb THEN 'True' END "
            f"WHEN 'number' THEN CASE WHEN {value}::text ~ '{_INTEGER_RE}' THEN NULLIF({value}::text, '0') END END")


def custom_exotic_sql(value: str) -> str:
    """SQL: true when the custom field's jsonb ``value`` needs Python (see custom_value_sql)."""
    return (f"(jsonb_typeof({value}) IN ('object', 'array') OR "
            f"(jsonb_typeof({value}) = 'number' AND {value}::text !~ '{_INTEGER_RE}'))")

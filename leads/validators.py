"""Rules for tenant settings and global defaults, shared by admin forms and the APIs.

``settings_errors`` is the one validation function: a model's ``clean()`` calls it (so
Django admin gets it through the ModelForm) and the settings services call ``full_clean``.
"""
import re

import phonenumbers
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError

# Imported from the model module so the known factors are exactly those weights() merges.
from leads.models.settings import DEFAULT_SCORING_WEIGHTS

WEIGHT_MIN, WEIGHT_MAX = -100, 100
RETENTION_MIN, RETENTION_MAX = 1, 3650
HEX_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# The shape processing/scoring.py reads (its DEFAULT_ICP fills the keys a tenant leaves out).
ICP_LIST_KEYS = ("seniorities", "departments", "industries")
ICP_FIT_KEYS = ("seniority_fit", "sources")  # label -> fit from 0 to 1
ICP_INT_KEYS = ("employees_min", "employees_max")
ICP_KEYS = ICP_LIST_KEYS + ICP_FIT_KEYS + ICP_INT_KEYS

LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
LOGO_MAX_SIDE = 4096


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def scoring_weight_errors(weights) -> list[str]:
    if not isinstance(weights, dict):
        return ["must be an object of factor -> integer points"]
    errors = []
    for factor, points in weights.items():
        if factor not in DEFAULT_SCORING_WEIGHTS:
            errors.append(f"unknown factor '{factor}'; known: {', '.join(sorted(DEFAULT_SCORING_WEIGHTS))}")
        elif not _is_int(points) or not WEIGHT_MIN <= points <= WEIGHT_MAX:
            errors.append(f"'{factor}' must be an integer from {WEIGHT_MIN} to {WEIGHT_MAX}")
    return errors


def icp_rule_errors(rules) -> list[str]:
    if not isinstance(rules, dict):
        return ["must be an object"]
    errors = []
    for key, value in rules.items():
        if key not in ICP_KEYS:
            errors.append(f"unknown rule '{key}'; known: {', '.join(ICP_KEYS)}")
        elif key in ICP_LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                errors.append(f"'{key}' must be a list of non-empty strings")
        elif key in ICP_FIT_KEYS:
            if not isinstance(value, dict) or not all(
                isinstance(label, str) and label.strip() and isinstance(fit, (int, float))
                and not isinstance(fit, bool) and 0 <= fit <= 1
                for label, fit in value.items()
            ):
                errors.append(f"'{key}' must be an object of label -> fit from 0 to 1, e.g. {{\"referral\": 1.0}}")
        elif value is not None and (not _is_int(value) or value < 0):
            errors.append(f"'{key}' must be a whole number of employees (0 or more) or null")
    low, high = rules.get("employees_min"), rules.get("employees_max")
    if _is_int(low) and _is_int(high) and low > high:
        errors.append("'employees_min' must not exceed 'employees_max'")
    return errors


def settings_errors(obj) -> dict[str, list[str]]:
    """Field -> messages for a TenantSettings or GlobalDefaults instance (empty when valid)."""
    errors: dict[str, list[str]] = {}

    def add(field, messages):
        if messages:
            errors.setdefault(field, []).extend(messages if isinstance(messages, list) else [messages])

    add("scoring_weights", scoring_weight_errors(obj.scoring_weights))
    add("icp_rules", icp_rule_errors(obj.icp_rules))
    region = obj.default_region or ""
    if region != region.upper() or region not in phonenumbers.SUPPORTED_REGIONS:
        add("default_region", f"'{region}' is not an ISO 3166 alpha-2 region code (upper case, e.g. US, GB, DE)")
    for field in ("fuzzy_match_threshold", "fuzzy_review_threshold"):
        value = getattr(obj, field)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            add(field, "must be a number from 0 to 1")
    if "fuzzy_match_threshold" not in errors and "fuzzy_review_threshold" not in errors:
        if obj.fuzzy_review_threshold >= obj.fuzzy_match_threshold:
            add("fuzzy_review_threshold", "must be lower than fuzzy_match_threshold (pairs between the two go to review)")
    if obj.retention_days is not None and not RETENTION_MIN <= obj.retention_days <= RETENTION_MAX:
        add("retention_days", f"must be from {RETENTION_MIN} to {RETENTION_MAX} days, or empty for the default")
    if not HEX_COLOR_RE.match(obj.primary_color or ""):
        add("primary_color", "must be a colour like #2563eb")
    if not (obj.product_name or "").strip():
        add("product_name", "must not be empty")
    return errors


def validate_logo(file) -> None:
    """A logo is a PNG, JPEG, GIF or WebP image Pillow can read, at most
    BRANDING_LOGO_MAX_BYTES and LOGO_MAX_SIDE pixels a side. SVG is refused: it can carry scripts."""
    from PIL import Image, UnidentifiedImageError

    max_bytes = django_settings.BRANDING_LOGO_MAX_BYTES
    if file.size > max_bytes:
        raise ValidationError(f"the logo is {file.size} bytes; the limit is {max_bytes} bytes ({max_bytes // 1024} KiB)")
    try:
        file.seek(0)
        with Image.open(file) as image:
            fmt = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError("the logo must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)")
    finally:
        file.seek(0)
    if fmt not in LOGO_FORMATS:
        raise ValidationError(f"{fmt} images are not accepted; use PNG, JPEG, GIF or WebP")
    if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
        raise ValidationError(f"the logo is {width}x{height} pixels; at most {LOGO_MAX_SIDE} a side")

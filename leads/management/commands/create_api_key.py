import re
from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_tenants.utils import get_public_schema_name, schema_context

from leads.services.apikeys import api_key_create
from tenants.models import Tenant

_DURATION = re.compile(r"^(\d+)\s*([dhw])$")


def parse_expiry(value: str) -> datetime:
    """``2027-01-31``, an ISO date-time, or a duration from now: ``30d``, ``12h``, ``2w``."""
    value = value.strip()
    match = _DURATION.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return timezone.now() + timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[unit]: amount})
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(f"--expires: '{value}' is not a date, a date-time or a duration like 30d")
        parsed = datetime.combine(day, time.max)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if parsed <= timezone.now():
        raise ValueError("--expires is in the past")
    return parsed


class Command(BaseCommand):
    help = "Create an API key for a tenant; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug (schema name)")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. n8n")
        parser.add_argument("--scopes", default="read,write", help="comma-separated: read, write, admin (default read,write)")
        parser.add_argument("--expires", help="expiry: 2027-01-31, an ISO date-time, or 30d / 12h / 2w from now")

    def handle(self, *args, **opts):
        slug = opts["tenant"]
        with schema_context(get_public_schema_name()):
            if slug == get_public_schema_name() or not Tenant.objects.filter(schema_name=slug).exists():
                raise CommandError(f"unknown tenant '{slug}'")
        scopes = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
        try:
            expiry = parse_expiry(opts["expires"]) if opts["expires"] else None
            with schema_context(slug):
                api_key, key = api_key_create(name=opts["name"], scopes=scopes, expiry_date=expiry,
                                              actor="system:create_api_key")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        expires = f", expires {api_key.expiry_date:%Y-%m-%d %H:%M %Z}" if api_key.expiry_date else ""
        self.stdout.write(f"API key '{api_key.name}' for tenant '{slug}' (scopes {api_key.scopes}{expires}).")
        self.stdout.write("Store it now: it is shown only once.")
        self.stdout.write(key)

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import TenantError, tenant_create


class Command(BaseCommand):
    help = "Create a tenant: its schema (migrated), its domain and its admin user."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="schema name, e.g. acme")
        parser.add_argument("--name", default="", help="display name (default: the slug)")
        parser.add_argument("--domain", required=True, help="host name, e.g. acme.localhost")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--password", help="admin password (default: generated and printed once)")
        parser.add_argument("--plan", default=Tenant.Plan.STARTER, choices=Tenant.Plan.values)
        parser.add_argument("--lead-quota", type=int)

    def handle(self, *args, **opts):
        try:
            result = tenant_create(
                slug=opts["slug"],
                name=opts["name"],
                domain=opts["domain"],
                admin_email=opts["admin_email"],
                admin_password=opts["password"],
                plan=opts["plan"],
                lead_quota=opts["lead_quota"],
            )
        except TenantError as exc:
            raise CommandError(str(exc))
        self.stdout.write(self.style.SUCCESS(f"Created tenant '{result.tenant.schema_name}' at http://{result.domain}:8000/"))
        self.stdout.write(f"Admin: {result.admin_email}")
        if not opts["password"]:
            self.stdout.write(f"Password (shown once): {result.admin_password}")

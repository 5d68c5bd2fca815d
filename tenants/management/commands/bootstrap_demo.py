import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.services import TenantError, ensure_public_tenant, tenant_create

DEMO_SLUG = "demo"
DEMO_DOMAIN = "demo.localhost"
DEMO_EMAIL = "admin@demo.localhost"


class Command(BaseCommand):
    help = "Create the demo tenant, its admin and sample leads. Running it again changes nothing."

    def handle(self, *args, **opts):
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "leadhub-demo")
        ensure_public_tenant()
        if Tenant.objects.filter(schema_name=DEMO_SLUG).exists():
            self.stdout.write("Demo tenant already exists; nothing changed.")
        else:
            try:
                tenant_create(
                    slug=DEMO_SLUG, name="Demo Inc", domain=DEMO_DOMAIN,
                    admin_email=DEMO_EMAIL, admin_password=password,
                )
            except TenantError as exc:
                raise CommandError(str(exc))
            with schema_context(DEMO_SLUG):
                created = self._sample_leads()
            self.stdout.write(self.style.SUCCESS(f"Created demo tenant with {created} sample leads."))
        call_command("setup_schedules", stdout=self.stdout)
        self.stdout.write(f"Open http://{DEMO_DOMAIN}:8000/  (admin: http://{DEMO_DOMAIN}:8000/admin/)")
        self.stdout.write(f"Sign in as {DEMO_EMAIL} / {password}")

    def _sample_leads(self) -> int:
        from leads.samples import create_sample_leads

        return create_sample_leads()

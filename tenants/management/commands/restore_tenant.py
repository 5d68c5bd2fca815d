from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.backup import tenant_restore
from tenants.services import TenantError


class Command(BaseCommand):
    help = "Restore a tenant backup as a new tenant: restore_tenant FILE --as SLUG [--domain HOST]."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--as", dest="slug", required=True, help="schema name of the restored tenant")
        parser.add_argument("--domain", help="host name (default: the backup's, if free, else <slug>.localhost)")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            tenant = tenant_restore(path=path, slug=opts["slug"], domain=opts["domain"])
        except TenantError as exc:
            raise CommandError(str(exc))
        domain = tenant.domains.get(is_primary=True).domain
        self.stdout.write(self.style.SUCCESS(f"Restored tenant '{tenant.schema_name}' at http://{domain}:8000/"))

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.backup import tenant_backup
from tenants.services import TenantError


class Command(BaseCommand):
    help = "Back up one tenant (its schema and files) to FILE (.tar.gz)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")

    def handle(self, *args, **opts):
        try:
            meta = tenant_backup(slug=opts["slug"], path=Path(opts["file"]))
        except TenantError as exc:
            raise CommandError(str(exc))
        self.stdout.write(self.style.SUCCESS(f"Backed up tenant '{meta['schema']}' to {opts['file']}"))

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedules_after_migrate(sender, **kwargs):
    # migrate_schemas sends post_migrate once per schema; the schedules live in
    # public, so act only there.
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    if connection.schema_name != get_public_schema_name():
        return
    from django.db import DatabaseError

    from processing.schedules import ScheduleConfigError, setup_schedules

    try:
        setup_schedules()
    except (ScheduleConfigError, DatabaseError) as exc:
        # A bad cron (or a partial migration without django-q2's tables) must
        # not fail the migration; `manage.py setup_schedules` reports it again.
        import logging

        logging.getLogger(__name__).error("schedules not set up: %s", exc)


class ProcessingConfig(AppConfig):
    name = "processing"

    def ready(self):
        post_migrate.connect(_schedules_after_migrate, sender=self, dispatch_uid="processing-setup-schedules")

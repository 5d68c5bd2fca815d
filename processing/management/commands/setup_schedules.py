from django.core.management.base import BaseCommand, CommandError

from processing.schedules import ScheduleConfigError, setup_schedules


class Command(BaseCommand):
    help = ("Create or update the django-q2 schedules (batch processing, cleanup) from BATCH_SCHEDULE, "
            "CLEANUP_SCHEDULE and ENABLE_BATCH_PROCESSING. Safe to run again.")

    def handle(self, *args, **opts):
        try:
            outcome = setup_schedules()
        except ScheduleConfigError as exc:
            raise CommandError(str(exc))
        if opts["verbosity"] == 0:
            return
        for name, what in outcome.items():
            self.stdout.write(f"{name}: {what}")

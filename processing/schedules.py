"""The cluster's recurring jobs, created from settings by ``setup_schedules``.

One schedule per job (not per tenant): each run fans out over the active
tenants, so new tenants are picked up without new schedules.
"""
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

BATCH_SCHEDULE_NAME = "leadhub: batch processing"
CLEANUP_SCHEDULE_NAME = "leadhub: cleanup"


class ScheduleConfigError(ValueError):
    """A cron expression from the environment is not valid."""


@dataclass(frozen=True)
class Job:
    name: str
    func: str
    cron: str
    enabled: bool


def configured_jobs() -> list[Job]:
    """The schedules the current settings ask for."""
    return [
        Job(BATCH_SCHEDULE_NAME, "processing.tasks.run_batch_processing", settings.BATCH_SCHEDULE,
            settings.ENABLE_BATCH_PROCESSING),
        Job(CLEANUP_SCHEDULE_NAME, "processing.tasks.cleanup", settings.CLEANUP_SCHEDULE, True),
    ]


def next_run(cron: str, after: datetime | None = None) -> datetime:
    return croniter(cron, after or timezone.now()).get_next(datetime)


def setup_schedules() -> dict[str, str]:
    """Create, update or remove the schedules so they match the settings.

    Idempotent: a job whose schedule already has the configured function and
    cron is left alone (its next run included); a changed cron is updated in
    place, never added twice; a disabled job's schedule is deleted. Returns
    ``{name: "created" | "updated" | "unchanged" | "removed" | "absent"}``.
    Raises ScheduleConfigError for an invalid cron expression, before any change.
    """
    from django_q.models import Schedule

    jobs = configured_jobs()
    for job in jobs:
        if job.enabled and not croniter.is_valid(job.cron):
            raise ScheduleConfigError(f"invalid cron expression for {job.name!r}: {job.cron!r}")
    outcome = {}
    with schema_context(get_public_schema_name()), transaction.atomic():
        for job in jobs:
            existing = list(Schedule.objects.select_for_update().filter(name=job.name).order_by("id"))
            if not job.enabled:
                outcome[job.name] = "removed" if existing else "absent"
                Schedule.objects.filter(name=job.name).delete()
                continue
            # Extra copies (made by hand in admin, say) would run the job twice.
            for extra in existing[1:]:
                extra.delete()
            current = existing[0] if existing else None
            if current and current.func == job.func and current.cron == job.cron \
                    and current.schedule_type == Schedule.CRON and current.repeats == -1:
                outcome[job.name] = "unchanged"
                continue
            Schedule.objects.update_or_create(
                name=job.name,
                defaults={"func": job.func, "schedule_type": Schedule.CRON, "cron": job.cron,
                          "repeats": -1, "next_run": next_run(job.cron)},
            )
            outcome[job.name] = "updated" if current else "created"
    return outcome

"""Verification stage: mailbox checks from a provider.

The provider clients plug in here (their own issue). Until then, and whenever
verification is disabled for the tenant (``TenantSettings.verification_enabled()``),
the stage passes every lead on unchanged, as the life cycle requires.
"""
from collections.abc import Sequence

from leads.models import Lead, TenantSettings
from processing.stages import StageResult


def verify_leads(leads: Sequence[Lead], *, settings: TenantSettings) -> StageResult:
    """Verify the leads' email addresses in memory (``verification``,
    ``verification_status``, ``verified_at``); returns which passed, were deferred
    or failed. Writes nothing: the pipeline does."""
    return StageResult(passed=list(leads))

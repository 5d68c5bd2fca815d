"""Enrichment stage: company and person data from a provider.

The provider clients plug in here (their own issue). Until then, and whenever
enrichment is disabled for the tenant (``TenantSettings.enrichment_enabled()``),
the stage passes every lead on unchanged, as the life cycle requires.
"""
from collections.abc import Sequence

from leads.models import Lead, TenantSettings
from processing.stages import StageResult


def enrich_leads(leads: Sequence[Lead], *, settings: TenantSettings) -> StageResult:
    """Enrich the leads in memory (``enrichment``, ``enriched_at``); returns which
    passed, were deferred or failed. Writes nothing: the pipeline does."""
    return StageResult(passed=list(leads))

"""What a pipeline stage hands back to the pipeline."""
from dataclasses import dataclass, field


@dataclass
class StageResult:
    """Outcome of one stage over a list of leads (the stage sets fields on the
    lead objects; the pipeline writes them set-based).

    passed:   leads that go on to the next stage
    deferred: leads that stay where they are and are retried on a later run
              (provider queued the request, rate limit, outage); set
              ``lead.next_attempt_at`` to say when
    failed:   (lead, message) pairs that go to ``error`` with this stage's name
    note:     why the passed leads went on without the stage's work ("enrichment
              is off"), for their audit events
    """

    passed: list = field(default_factory=list)
    deferred: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    note: str = ""

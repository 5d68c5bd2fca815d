"""What every destination implements, and the errors they raise."""
import re
from dataclasses import dataclass, field

from leads.exports.fields import READ_FIELDS


class ExportError(Exception):
    """The whole export cannot go on (bad credentials, destination down, bad configuration)."""


class ConfigurationError(ExportError):
    """A credential or setting the destination needs is missing."""


@dataclass
class ChunkResult:
    """Per-lead outcome of one chunk; ``details`` adds to the export's destination counters."""

    sent: list[tuple[int, str]] = field(default_factory=list)  # (lead id, remote id or "")
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (lead id, reason)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (lead id, reason)
    details: dict[str, int] = field(default_factory=dict)


class Destination:
    """A place leads are exported to. ``send`` must not raise for a single bad lead;
    it reports it in ``failed``. It raises ExportError when nothing more can be sent."""

    # A file destination writes rows to ``self.path``; an API destination pushes them.
    produces_file = False
    # The lead fields its rows need (see fields.READ_FIELDS); fewer columns read faster.
    fields: tuple[str, ...] = READ_FIELDS
    # How many leads one request takes: an API push reads and sends this many at a time,
    # so a failed request never hides leads an earlier request of the same chunk sent.
    batch_size = 1000

    def open(self) -> None:
        """Called once before the first chunk."""

    def send(self, rows: list[dict]) -> ChunkResult:
        raise NotImplementedError

    def copy_sql(self, *, lead_table: str, ids_sql: str) -> tuple[str, list] | None:
        """(SQL, params) of a ``COPY ... TO STDOUT`` whose rows ``write_copied`` takes
        instead of lead dicts, made by the database; None (the default) when the
        destination needs lead dicts."""
        return None

    def write_copied(self, rows, *, chunk_size: int = 2000) -> None:
        raise NotImplementedError

    def close(self, *, success: bool) -> None:
        """Called once at the end, also after a failure."""


_SECRET_PARAMS = re.compile(r"(?i)(api_key|access_token|client_secret|password)=([^&\s\"']+)")


def scrub(text: str, *secrets: str) -> str:
    """``text`` with the given secrets and any ``api_key=...`` query value replaced by ***."""
    text = _SECRET_PARAMS.sub(r"\1=***", str(text))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text

"""CSV import: a file of any size streamed through ingestion (``leads.services.ingest``) in chunks.

Encoding (UTF-8 with or without BOM, UTF-16, Latin-1) and delimiter (comma,
semicolon, tab, pipe) are detected from the first bytes; header names are matched
with ``canonical_field`` (case, punctuation and common aliases), exactly like the
keys of an API payload. Memory stays constant: one chunk of rows at a time.
"""
from __future__ import annotations

import codecs
import csv
import functools
import io
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.utils import timezone

from leads.models import ImportBatch, TenantSettings
from leads.services.ingest import Outcome, RowResult, cyclic_gc_paused, lead_quota, prepare_rows, store_rows
from leads.textsafety import unstorable_reason

logger = logging.getLogger(__name__)

SAMPLE_BYTES = 64 * 1024
CHUNK_ROWS = 5000  # rows per committed chunk: fewer commits, memory still bounded
DELIMITERS = ",;\t|"
MAX_DRY_RUN_ERRORS = 100

# A single field may legitimately hold a long note; the default 128 KB is too tight.
csv.field_size_limit(16 * 1024 * 1024)


class CsvError(Exception):
    """The file cannot be read as a CSV of leads; the message is for the user."""


@dataclass
class ImportReport:
    batch: ImportBatch | None
    dry_run: bool
    total_rows: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {o: 0 for o in (
        Outcome.CREATED, Outcome.UPDATED, Outcome.DUPLICATE, Outcome.INVALID)})
    quota_refused: int = 0
    errors: list[dict] = field(default_factory=list)  # dry run only: the first refused rows

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "total_rows": self.total_rows, **self.counts,
                "quota_refused": self.quota_refused, "errors": self.errors}


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without BOM: every other byte of ASCII text is zero.
    if sample and sample.count(b"\x00") > len(sample) // 4:
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def detect_dialect(text_sample: str) -> type[csv.Dialect] | csv.Dialect:
    first_line = text_sample.splitlines()[0] if text_sample else ""
    try:
        dialect = csv.Sniffer().sniff(text_sample[:16384], delimiters=DELIMITERS)
        # The sniffer can pick a delimiter that only appears inside values; the header
        # line is the better witness when it disagrees.
        if first_line.count(dialect.delimiter) == 0:
            raise csv.Error("delimiter not in header")
        return dialect
    except csv.Error:
        counts = {d: first_line.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)

        class Detected(csv.excel):
            delimiter = best if counts[best] else ","

        return Detected


def iter_csv_rows(binary) -> tuple[list[str], Iterator[dict]]:
    """Headers and an iterator of ``{header: value}`` rows from a binary file object."""
    head = binary.read(SAMPLE_BYTES)
    if not head:
        raise CsvError("The file is empty.")
    encoding = detect_encoding(head)
    rest = binary

    class _Rewound(io.RawIOBase):
        """The sample already read, then the rest of the file."""

        def __init__(self):
            self._head = memoryview(head)

        def readable(self):
            return True

        def readinto(self, buffer):
            if self._head:
                n = min(len(buffer), len(self._head))
                buffer[:n] = self._head[:n]
                self._head = self._head[n:]
                return n
            data = rest.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    text = io.TextIOWrapper(io.BufferedReader(_Rewound(), 1 << 16), encoding=encoding, newline="",
                            errors="replace")
    sample_text = codecs.decode(head, encoding, errors="ignore") if encoding != "utf-8-sig" else \
        head[len(codecs.BOM_UTF8):].decode("utf-8", errors="ignore")
    dialect = detect_dialect(sample_text)
    reader = csv.reader(text, dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise CsvError("The file has no header row.") from None
    headers = [h.strip().lstrip("\ufeff") for h in headers]
    if not any(headers):
        raise CsvError("The header row is empty.")
    for name in headers:
        reason = unstorable_reason(name)
        if reason:
            raise CsvError(f"The header row cannot be read as text: {reason}")
    seen: dict[str, int] = {}
    for i, name in enumerate(headers):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        headers[i] = name

    def rows() -> Iterator[dict]:
        width = len(headers)
        for values in reader:
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # blank line
            if len(values) > width:
                extra = values[width:]
                if any(v.strip() for v in extra):
                    row = dict(zip(headers, values))
                    row["__extra__"] = extra
                    yield row
                    continue
                values = values[:width]
            yield dict(zip(headers, values))

    return headers, rows()


def import_csv(*, binary, source: str, actor: str, filename: str = "", dry_run: bool = False,
               kind: str = ImportBatch.Kind.CSV, user=None, chunk_rows: int = CHUNK_ROWS,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Stream a CSV file into leads, ``chunk_rows`` rows per committed chunk.

    Not a dry run: an ImportBatch records progress counts after every chunk (visible
    to other connections while the import runs); refused rows are kept as
    ImportRowError (downloadable with their reason). Dry run: nothing is written; the
    report counts what would happen and lists the first refused rows.
    Raises CsvError when the file cannot be read at all.

    Chunks are written in order, one at a time, by a second thread on this thread's
    database connection (``_ChunkWriter``) while this thread reads and normalizes the
    next chunk: PostgreSQL and Python then work at the same time.
    """
    headers, rows = iter_csv_rows(binary)
    batch = None
    if not dry_run:
        batch = ImportBatch.objects.create(kind=kind, source=source, filename=filename[:255], actor=actor[:100],
                                           columns=headers,
                                           created_by=user if getattr(user, "pk", None) else None)
    report = ImportReport(batch=batch, dry_run=dry_run)
    quota = lead_quota()
    default_region = TenantSettings.current().default_region

    def tally(results: list[RowResult]) -> None:
        _tally(report, results)
        if progress:
            progress(len(results))

    try:
        with cyclic_gc_paused(), _ChunkWriter() as writer:
            for chunk in _chunks(rows, chunk_rows):
                refuse = {i for i, row in enumerate(chunk) if "__extra__" in row}
                if refuse:
                    chunk = [_too_wide(row) if i in refuse else row for i, row in enumerate(chunk)]
                prepared = prepare_rows(rows=chunk, source=source, batch=batch, first_index=report.total_rows + 1,
                                        refuse=refuse, default_region=default_region)
                report.total_rows += len(chunk)
                writer.submit(functools.partial(store_rows, prepared, batch=batch, actor=actor, dry_run=dry_run,
                                                quota=quota), tally)
    except Exception as exc:
        if batch is not None:
            _mark_failed(batch.pk, exc)
        raise
    if batch is not None:
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.DONE, finished_at=timezone.now())
        batch.refresh_from_db()
    return report


def _chunks(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _ChunkWriter:
    """Runs each submitted write on one worker thread that borrows the caller's
    database connection (same session, same transaction state, so it also works
    inside a test's transaction), one write at a time and in order.

    Waiting on PostgreSQL releases the GIL, so the caller's Python work on the next
    chunk overlaps the database's work on this one. A chunk is submitted only after
    the previous one is written (and its callback has run): deduplication of a chunk
    sees every earlier chunk, and at most two chunks are in memory. The caller must
    not touch the database between ``__enter__`` and ``__exit__``.
    """

    def __init__(self):
        self._connection = connections[DEFAULT_DB_ALIAS]
        self._pending: tuple[Future, Callable] | None = None

    def __enter__(self):
        self._connection.inc_thread_sharing()
        self._pool = ThreadPoolExecutor(max_workers=1, initializer=self._borrow)
        return self

    def _borrow(self) -> None:
        connections[DEFAULT_DB_ALIAS] = self._connection

    def submit(self, write: Callable[[], list], done: Callable[[list], None]) -> None:
        self.wait()
        self._pending = (self._pool.submit(write), done)

    def wait(self) -> None:
        if self._pending is not None:
            future, done = self._pending
            self._pending = None
            done(future.result())

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.wait()
            elif self._pending is not None:
                futures_wait([self._pending[0]])  # let it finish before the connection is used again
                self._pending = None
        finally:
            self._pool.shutdown(wait=True)
            self._connection.dec_thread_sharing()
        return False


# Waits between attempts to record a failed import while the database is away.
MARK_FAILED_DELAYS = (0.5, 1, 2, 4, 8)


def _mark_failed(batch_pk: int, exc: Exception) -> None:
    """Record that the import stopped, so the batch does not say "running" forever.

    When the import failed because the database went away (a restart, a
    fail-over), the same connection is dead: drop it and try again on a new one
    for a few seconds. If the database stays away the batch keeps its last
    committed counts and the original error is what the caller sees.
    """
    for delay in (0, *MARK_FAILED_DELAYS):
        time.sleep(delay)
        try:
            ImportBatch.objects.filter(pk=batch_pk).update(status=ImportBatch.Status.FAILED,
                                                           error_message=str(exc)[:2000],
                                                           finished_at=timezone.now())
            return
        except DatabaseError:
            connection.close()
    logger.error("import batch %s failed and could not be marked failed: database unreachable", batch_pk)


def _tally(report: ImportReport, results: list[RowResult]) -> None:
    for result in results:
        report.counts[result.outcome] += 1
        if "quota" in result.errors:
            report.quota_refused += 1
        if report.dry_run and result.outcome == Outcome.INVALID and len(report.errors) < MAX_DRY_RUN_ERRORS:
            report.errors.append({"row": result.index + 1, "errors": result.errors})


def _too_wide(row: dict) -> dict:
    """A row with more values than the header has columns, refused as a whole: the
    extra values are kept under an empty header in the stored row error."""
    extra = row.pop("__extra__")
    return {**row, "": extra}

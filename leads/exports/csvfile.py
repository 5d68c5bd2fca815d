"""File destinations: Instantly's CSV importer layout and the tenant's own CSV templates.

Rows are written to a temporary file as they arrive (constant memory); the service
stores the finished file under the tenant's schema.
"""
import csv
import io
import json
import tempfile
from collections.abc import Iterable

from leads.exports.base import ChunkResult, Destination
from leads.exports.fields import (
    NEUTRALISE_SQL, READ_FIELDS, cell, custom_exotic_sql, custom_key, custom_value_sql, field_value, value_sql,
)

# Instantly's importer maps these headers without manual work; custom variables follow.
INSTANTLY_COLUMNS = (
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("company_name", "company"),
    ("job_title", "title"),
    ("phone", "phone"),
    ("website", "website"),
    ("personalization", "custom_fields.personalization"),
)


class CsvDestination(Destination):
    """Writes ``columns`` [(header, field, default)] with a delimiter and an encoding."""

    produces_file = True

    def __init__(self, *, columns: list[tuple[str, str, str]], delimiter: str = ",", encoding: str = "utf-8"):
        self.columns = columns
        names = {"id", "email"} | {name.partition(".")[0] for _, name, _ in columns}
        self.fields = tuple(f for f in READ_FIELDS if f in names)
        self.delimiter = delimiter
        self.encoding = encoding
        self.path = ""
        self._binary = None
        self._text = None
        self._writer = None

    def open(self) -> None:
        self._binary = tempfile.NamedTemporaryFile(prefix="leadhub-export-", suffix=".csv", delete=False)
        self.path = self._binary.name
        # errors="replace": a name a legacy encoding cannot hold becomes "?" instead of
        # failing the whole export; UTF-8 variants hold everything.
        self._text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors="replace", newline="")
        self._writer = csv.writer(self._text, delimiter=self.delimiter)
        self._writer.writerow([cell(header) for header, _, _ in self.columns])

    def send(self, rows: list[dict]) -> ChunkResult:
        """Write lead dicts, formatted in Python (when a column has no SQL version)."""
        columns = self.columns
        self._writer.writerows(
            [cell(field_value(row, name) or default) for _, name, default in columns] for row in rows
        )
        return ChunkResult(sent=[(row["id"], "") for row in rows])

    def select_sql(self, *, lead_table: str, ids_sql: str) -> tuple[str, list] | None:
        """(SQL, params) selecting, in id order, the leads whose ids ``ids_sql`` yields as
        rows of finished cells (the cell() rules applied by the database) plus a last
        column that is NULL, or the lead's custom fields when a custom value needs
        Python (``write_copied`` then makes those cells). None when a column has no SQL
        version."""
        # Three layers, the inner two fenced with OFFSET 0 so that each value is
        # computed once, not once per reference: the lead's columns and custom jsonb
        # values, then the cell texts, then the neutralised cells with their defaults.
        reads, key_params, values, exotic, cells, defaults = ["l.id"], [], ["r.id"], [], [], []
        # csv.writer quotes the one empty cell of a one-column row (""); COPY does that
        # for an empty string, not for NULL.
        empty = ", ''" if len(self.columns) == 1 else ""
        for index, (_, name, default) in enumerate(self.columns):
            key = custom_key(name)
            if key is None:
                value = value_sql(name)
                if value is None:
                    return None
                reads.append(f"{value} AS r{index}")
                values.append(f"r.r{index} AS c{index}")
            else:
                reads.append(f"l.custom_fields -> %s AS r{index}")
                key_params.append(key)
                values.append(f"{custom_value_sql(f'r.r{index}')} AS c{index}")
                exotic.append(custom_exotic_sql(f"r.r{index}"))
            cells.append(f"COALESCE({NEUTRALISE_SQL.format(f'v.c{index}')}, %s{empty})")
            defaults.append(cell(default) or None)
        reads.append("l.custom_fields")
        values.append(f"CASE WHEN {' OR '.join(exotic) or 'false'} THEN r.custom_fields END AS custom")
        return (
            f"SELECT {', '.join(cells)}, v.custom FROM ("
            f"SELECT {', '.join(values)} FROM ("
            f"SELECT {', '.join(reads)} FROM {lead_table} l WHERE l.id IN ({ids_sql}) ORDER BY l.id OFFSET 0"
            f") r ORDER BY r.id OFFSET 0) v ORDER BY v.id",
            defaults + key_params,
        )

    def copy_sql(self, *, lead_table: str, ids_sql: str) -> tuple[str, list] | None:
        """(SQL, params): ``select_sql`` as CSV from ``COPY ... TO STDOUT``, for
        ``write_copied``. COPY quotes exactly what csv.writer quotes (a cell holding the
        delimiter, a double quote, CR or LF; quotes doubled), so the database writes
        the file's rows and Python only ends the lines. None when a column has no SQL
        version."""
        select = self.select_sql(lead_table=lead_table, ids_sql=ids_sql)
        if select is None:
            return None
        sql, params = select
        return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, DELIMITER %s)", [*params, self.delimiter]

    def write_copied(self, rows: Iterable, *, chunk_size: int = 2000) -> None:
        """Write the rows of ``copy_sql`` (one UTF-8 CSV row per item, ending in LF),
        ``chunk_size`` at a time."""
        # A row whose last column (custom) is NULL ends in "<delimiter>\n": drop both
        # and end the line the way csv.writer does (CRLF). Other rows carry custom
        # values only Python writes right; _finish_copied redoes them.
        plain_end = f"{self.delimiter}\n".encode()
        lines: list = []
        for row in rows:
            row = bytes(row)
            lines.append(row[:-2] if row.endswith(plain_end) else self._finish_copied(row))
            if len(lines) >= chunk_size:
                self._write(lines)
                lines = []
        if lines:
            self._write(lines)

    def _write(self, lines: list[bytes]) -> None:
        lines.append(b"")
        self._text.write(b"\r\n".join(lines).decode())

    def _finish_copied(self, row: bytes) -> bytes:
        """A copied row with a custom value only Python formats right: its custom cells
        redone with cell(), written back with csv.writer (without the line end)."""
        *cells, custom = next(csv.reader(io.StringIO(row.decode(), newline=""), delimiter=self.delimiter))
        lead = {"custom_fields": json.loads(custom)}
        for index, (_, name, default) in enumerate(self.columns):
            if name.startswith("custom_fields."):
                cells[index] = cell(field_value(lead, name) or default)
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter).writerow(cells)
        return out.getvalue().removesuffix("\r\n").encode()

    def close(self, *, success: bool) -> None:
        if self._text is not None:
            self._text.close()


def instantly_csv(*, custom_keys: list[str]) -> CsvDestination:
    """Instantly's layout; every custom field key of the exported leads becomes a column
    (Instantly turns unknown columns into custom variables)."""
    fixed = {"personalization"}
    columns = [(header, name, "") for header, name in INSTANTLY_COLUMNS]
    columns += [(key, f"custom_fields.{key}", "") for key in custom_keys if key not in fixed]
    return CsvDestination(columns=columns)


def template_csv(template) -> CsvDestination:
    columns = [(c.header, c.field, c.default) for c in template.columns.all()]
    return CsvDestination(columns=columns, delimiter=template.real_delimiter(), encoding=template.encoding)

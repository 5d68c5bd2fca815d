"""File destinations: Instantly's CSV importer layout and the tenant's own CSV templates.

Rows are written to a temporary file as they arrive (constant memory); the service
stores the finished file under the tenant's schema.
"""
import csv
import io
import json
import tempfile

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

    def send(self, rows: list) -> ChunkResult:
        """Write ``rows``: lead dicts (the Destination contract), or the finished tuples
        of ``select_sql`` (which carry no lead id: the caller knows what it selected)."""
        if rows and not isinstance(rows[0], dict):
            self._writer.writerows(self._finish_row(row) if row[-1] is not None else row[:-1] for row in rows)
            return ChunkResult()
        columns = self.columns
        self._writer.writerows(
            [cell(field_value(row, name) or default) for _, name, default in columns] for row in rows
        )
        return ChunkResult(sent=[(row["id"], "") for row in rows])

    def select_sql(self, *, lead_table: str, ids_sql: str) -> tuple[str, list] | None:
        """(SQL, params) selecting, in id order, the leads whose ids ``ids_sql`` yields as
        rows of finished cells (the cell() rules applied by the database) plus a last
        column that is NULL, or the lead's custom fields when a custom value needs
        Python (``send`` then makes those cells). None when a column has no SQL version."""
        # Three layers, the inner two fenced with OFFSET 0 so that each value is
        # computed once, not once per reference: the lead's columns and custom jsonb
        # values, then the cell texts, then the neutralised cells with their defaults.
        reads, key_params, values, exotic, cells, defaults = ["l.id"], [], ["r.id"], [], [], []
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
            cells.append(f"COALESCE({NEUTRALISE_SQL.format(f'v.c{index}')}, %s)")
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

    def _finish_row(self, row: tuple) -> list:
        """A row with a custom value only Python formats right: its custom cells redone."""
        custom = row[-1]
        lead = {"custom_fields": json.loads(custom) if isinstance(custom, str) else custom}
        cells = list(row[:-1])
        for index, (_, name, default) in enumerate(self.columns):
            if name.startswith("custom_fields."):
                cells[index] = cell(field_value(lead, name) or default)
        return cells

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

"""File destinations: Instantly's CSV importer layout and the tenant's own CSV templates.

Rows are written to a temporary file as they arrive (constant memory); the service
stores the finished file under the tenant's schema.
"""
import csv
import io
import tempfile

from leads.exports.base import ChunkResult, Destination
from leads.exports.fields import READ_FIELDS, cell, field_value

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
        columns = self.columns
        self._writer.writerows(
            [cell(field_value(row, name) or default) for _, name, default in columns] for row in rows
        )
        return ChunkResult(sent=[(row["id"], "") for row in rows])

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

"""File exports make their cells in the database (leads.exports.fields value_sql and
friends): the file must be byte for byte what the Python rules (cell(), field_value(),
``or default``) make of the same leads, for every kind of value."""
from datetime import datetime, timezone as dt_timezone

import pytest

from leads.exports.csvfile import CsvDestination, instantly_csv
from leads.exports.fields import EXPORT_FIELDS, READ_FIELDS
from leads.models import CsvTemplate, CsvTemplateColumn, Lead
from leads.services.exports import export_create, export_run
from tests.factories import make_lead
from tests.leads.exports_support import media_root  # noqa: F401

TRICKY_TEXT = [
    "=HYPERLINK(\"http://evil\")", "+44 20 7946 0958", "-3", "-", "+", "@SUM(1)", "\tTab", "\rCR", "'quoted",
    "+\u0661\u0662\u0663", "a,b", "say \"hi\"", "multi\nline", "Z\u00fcrich \u6771\u4eac", "-2+3+cmd|' /C calc'!A0",
    "", " =spaced", "+1 (415) 555-0100", "1-800-FLOWERS",
]
CUSTOM = [
    {"s": "=x", "b": True, "f": False, "zero": 0, "n": 42, "neg": -7, "big": 10 ** 20, "empty": "", "null": None,
     "phone": "+1 555 0100"},
    {"fl": 1.5, "fl0": 1.0, "zf": 0.0, "obj": {"a": 1, "b": [1, "x"]}, "arr": [1, "=x"], "s": "-bad()"},
    {},
    {"s": "plain", "n": -0},
]
CUSTOM_KEYS = sorted({key for fields in CUSTOM for key in fields} | {"missing"})


def _leads():
    leads = []
    for index, text in enumerate(TRICKY_TEXT):
        leads.append(make_lead(
            status="approved", email=f"p{index}@x.test", first_name=text, company=text, title=text[::-1],
            phone=text, city="", score=[None, 0, -5, 80][index % 4], custom_fields=CUSTOM[index % len(CUSTOM)],
        ))
    # isoformat() drops the fraction when there are no microseconds.
    Lead.objects.filter(pk=leads[0].pk).update(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt_timezone.utc))
    Lead.objects.filter(pk=leads[1].pk).update(created_at=datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt_timezone.utc))
    return leads


def _python_file(destination: CsvDestination, rows: list[dict]) -> bytes:
    """What the row-by-row Python path writes for lead dicts ``rows``."""
    destination.open()
    try:
        destination.send(rows)
    finally:
        destination.close(success=True)
    with open(destination.path, "rb") as handle:
        return handle.read()


def _exported_file(**kwargs) -> bytes:
    export = export_run(export_id=export_create(**kwargs).pk)
    assert export.status == "done", export.error_message
    with export.file.open("rb") as handle:
        return handle.read()


def test_template_cells_made_by_the_database_equal_the_python_rules(in_tenant_a, media_root):
    _leads()
    template = CsvTemplate.objects.create(name="everything", delimiter=";", encoding="utf-8-sig")
    columns = [(field, "") for field in EXPORT_FIELDS]
    columns += [(f"custom_fields.{key}", "") for key in CUSTOM_KEYS]
    # Defaults: plain, empty and one that is itself a formula.
    columns = [(name, ["n/a", "", "=evil"][index % 3]) for index, (name, _) in enumerate(columns)]
    for position, (name, default) in enumerate(columns):
        CsvTemplateColumn.objects.create(template=template, position=position, header=f"h{position}", field=name,
                                         default=default)
    rows = list(Lead.objects.order_by("pk").values(*READ_FIELDS))  # before the export marks them
    destination = CsvDestination(columns=[(f"h{i}", n, d) for i, (n, d) in enumerate(columns)],
                                 delimiter=";", encoding="utf-8-sig")
    # Every column has an SQL version: the export below does not fall back to Python.
    assert destination.select_sql(lead_table="leads_lead", ids_sql="SELECT 1") is not None
    expected = _python_file(destination, rows)

    exported = _exported_file(format="csv", template="everything")

    assert exported.decode("utf-8-sig").splitlines()[1:] == expected.decode("utf-8-sig").splitlines()[1:]
    assert exported == expected


def test_instantly_cells_made_by_the_database_equal_the_python_rules(in_tenant_a, media_root):
    _leads()
    rows = list(Lead.objects.order_by("pk").values(*READ_FIELDS))
    keys = sorted({key for row in rows for key in row["custom_fields"]})
    expected = _python_file(instantly_csv(custom_keys=keys), rows)

    assert _exported_file(format="instantly_csv") == expected


@pytest.mark.parametrize("value,expected", [
    ({"obj": {"a": 1}}, "{'a': 1}"),
    ({"obj": 1.50}, "1.5"),
    ({"obj": True}, "True"),
    ({"obj": 0}, "dflt"),
])
def test_custom_values_python_writes_differently_from_json_are_still_right(in_tenant_a, media_root, value, expected):
    template = CsvTemplate.objects.create(name="obj")
    CsvTemplateColumn.objects.create(template=template, position=0, header="obj", field="custom_fields.obj",
                                     default="dflt")
    make_lead(status="approved", custom_fields=value)
    assert _exported_file(format="csv", template="obj").decode().splitlines() == ["obj", expected]


def test_a_column_without_an_sql_version_falls_back_to_python_cells(in_tenant_a, media_root, monkeypatch):
    from leads.exports import csvfile

    _leads()
    rows = list(Lead.objects.order_by("pk").values(*READ_FIELDS))
    keys = sorted({key for row in rows for key in row["custom_fields"]})
    expected = _python_file(instantly_csv(custom_keys=keys), rows)
    monkeypatch.setattr(csvfile, "value_sql", lambda name: None)
    assert instantly_csv(custom_keys=keys).select_sql(lead_table="leads_lead", ids_sql="SELECT 1") is None

    assert _exported_file(format="instantly_csv") == expected


def test_a_one_column_layout_writes_an_empty_cell_as_csv_writer_does(in_tenant_a, media_root):
    # csv.writer quotes the only cell of a row when it is empty (""); so must the database.
    template = CsvTemplate.objects.create(name="one")
    CsvTemplateColumn.objects.create(template=template, position=0, header="city", field="city", default="")
    make_lead(status="approved", city="")
    make_lead(status="approved", city="Bonn")
    rows = list(Lead.objects.order_by("pk").values(*READ_FIELDS))
    expected = _python_file(CsvDestination(columns=[("city", "city", "")]), rows)

    assert _exported_file(format="csv", template="one") == expected == b'city\r\n""\r\nBonn\r\n'

"""Set-based writes for the pipeline: one statement per chunk, one parameter.

Django's ``bulk_update`` builds one ``CASE WHEN id=... THEN ...`` per field and
row, and ``bulk_create``/array parameters make the driver adapt every value in
Python (rows x columns of them). Sending the chunk as one JSON document and
letting PostgreSQL type it with ``jsonb_populate_recordset(NULL::table, ...)``
keeps the statement constant-size and the client work to one ``orjson.dumps``
(measured in README, Performance). Audit events, which are only inserted, go
through ``COPY`` (``copy_rows``): no JSON document to build or parse.
"""
import contextlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import orjson
import psycopg
from django.db import connection
from django.db.models import BooleanField, JSONField, Model
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL


@contextlib.contextmanager
def bound_cursor():
    """A psycopg cursor with server-side binding, on Django's connection (its
    search path and error translation): parameters travel apart from the SQL
    instead of being quoted into its text (Django's client-side binding) and
    parsed again by the server. A chunk's JSON document is about 1 MB; arrays of
    thousands of keys cost more to quote than the query takes."""
    with connection.cursor(), connection.wrap_database_errors:
        with psycopg.Cursor(connection.connection) as cursor:
            yield cursor


def _default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)  # Decimal and anything else a JSON value can hold as text


def _payload(objs: Sequence, fields) -> str:
    # orjson: several times faster than json.dumps on a chunk of leads, same
    # output for what a model holds (datetimes as ISO 8601, Decimals via _default).
    pairs = [(f.column, f.attname) for f in fields]
    return orjson.dumps([{column: getattr(obj, attname) for column, attname in pairs} for obj in objs],
                        default=_default, option=orjson.OPT_NON_STR_KEYS).decode()


def filter_ids(queryset, ids: Sequence[int]):
    """``queryset.filter(pk__in=ids)`` with the ids as one array parameter: a
    thousand placeholders cost more to build and parse than the query takes."""
    return filter_keys(queryset, queryset.model._meta.pk.name, ids)


def filter_keys(queryset, field: str, values: Sequence):
    """``queryset.filter(<field>__in=values)`` with the values as one array parameter."""
    meta = queryset.model._meta
    column = meta.get_field(field).column
    return queryset.filter(RawSQL(f'"{meta.db_table}"."{column}" = ANY(%s)', (list(values),),
                                  output_field=BooleanField()))


def _json(text):
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses (integers beyond 64 bits), json reads
        return json.loads(text)


def load_instances(model: type[Model], ids: Sequence[int], *, skip: Sequence[str] = (), where: str = "",
                   params: Sequence = ()) -> list[Model]:
    """The objects with these primary keys (and matching the SQL condition
    ``where``), lowest pk first, without the fields named in ``skip``: those are
    deferred, as with ``QuerySet.defer()``, so reading one still works (one query).

    What ``QuerySet`` does, minus its per-object cost: one array parameter for the
    ids, objects built without ``Model.__init__`` (setattr and signals per field,
    about half the load time of a chunk of leads; nothing listens to them here), and
    JSON columns decoded by orjson. Only for models whose fields need no converter
    besides JSONField's.
    """
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f.name not in skip]
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
    attnames = [f.attname for f in fields]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    sql = (f'SELECT {columns} FROM "{meta.db_table}" WHERE "{meta.pk.column}" = ANY(%b) {where} '
           f'ORDER BY "{meta.pk.column}"')
    with bound_cursor() as cursor:
        cursor.execute(sql, [list(ids), *params], prepare=False)
        rows = cursor.fetchall()
    objs = []
    db = connection.alias
    for row in rows:
        values = list(row)
        for i in json_positions:
            values[i] = _json(values[i])
        obj = model.__new__(model)
        state = obj._state = ModelState()
        state.adding, state.db = False, db
        obj.__dict__.update(zip(attnames, values))
        objs.append(obj)
    return objs


def bulk_update_values(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write ``fields`` (names) of every object in ``objs``, matched by primary key,
    in one UPDATE ... FROM jsonb_populate_recordset. ``auto_now`` fields are not
    touched unless listed. Returns the number of rows updated."""
    if not objs or not fields:
        return 0
    meta = model._meta
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    sets = ", ".join(f'"{f.column}" = r."{f.column}"' for f in columns[1:])
    sql = (f'UPDATE "{meta.db_table}" AS t SET {sets} '
           f'FROM jsonb_populate_recordset(NULL::"{meta.db_table}", %s::jsonb) AS r '
           f'WHERE t."{meta.pk.column}" = r."{meta.pk.column}"')
    # With current statistics PostgreSQL drives this from the recordset through the
    # primary key; right after a bulk load (before autovacuum's ANALYZE) it may
    # hash-join the whole table instead, which is correct but grows with it.
    with bound_cursor() as cursor:
        cursor.execute(sql, [_payload(objs, columns)], prepare=False)
        return cursor.rowcount


def bulk_insert_values(model: type[Model], objs: Sequence[Model]) -> list[int]:
    """Insert ``objs`` in one INSERT ... SELECT FROM jsonb_populate_recordset, in
    order; sets and returns their primary keys. ``auto_now(_add)`` fields must be
    set by the caller (``pre_save`` is not called)."""
    if not objs:
        return []
    meta = model._meta
    columns = [f for f in meta.concrete_fields if not f.primary_key]
    names = ", ".join(f'"{f.column}"' for f in columns)
    sql = (f'INSERT INTO "{meta.db_table}" ({names}) SELECT {names} '
           f'FROM jsonb_populate_recordset(NULL::"{meta.db_table}", %s::jsonb) WITH ORDINALITY AS r '
           f'ORDER BY r.ordinality RETURNING "{meta.pk.column}"')
    with bound_cursor() as cursor:
        cursor.execute(sql, [_payload(objs, columns)], prepare=False)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids):
        obj.pk = pk
        if hasattr(obj, "_state"):
            obj._state.adding = False
    return ids


def copy_rows(model: type[Model], attnames: Sequence[str], rows: Sequence[Sequence]) -> int:
    """Insert ``rows`` (values in the order of ``attnames``, JSON as text) with
    ``COPY ... FROM STDIN``. Returns the number of rows."""
    if not rows:
        return 0
    meta = model._meta
    names = ", ".join(f'"{meta.get_field(name).column}"' for name in attnames)
    with connection.cursor() as cursor, cursor.copy(f'COPY "{meta.db_table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def json_text(value) -> str:
    """``value`` as JSON text for a json/jsonb column (COPY rows, bound parameters)."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()


# An audit event's columns, in the order of EventRow.row().
AUDIT_COLUMNS = ("lead_id", "object_type", "object_id", "action", "actor", "user_id", "from_status", "to_status",
                 "changes", "note", "created_at")


class EventRow:
    """An audit event as a plain record for ``copy_rows`` (through ``row()``) or
    ``bulk_insert_values``:
    a chunk writes thousands, and building model instances costs more than
    inserting them."""

    __slots__ = ("pk", "lead_id", "object_type", "object_id", "action", "actor", "user_id", "from_status",
                 "to_status", "changes", "note", "created_at")

    def __init__(self, *, lead_id: int, action: str, actor: str, from_status: str = "", to_status: str = "",
                 changes: dict | None = None, note: str = "", created_at=None):
        self.pk = None
        self.lead_id, self.object_type, self.object_id = lead_id, "lead", str(lead_id)
        self.action, self.actor, self.user_id = action, actor, None
        self.from_status, self.to_status = from_status, to_status
        self.changes, self.note, self.created_at = changes or {}, note, created_at

    def row(self) -> tuple:
        """The event as a row of ``AUDIT_COLUMNS`` (``changes`` as JSON text)."""
        return (self.lead_id, self.object_type, self.object_id, self.action, self.actor, self.user_id,
                self.from_status, self.to_status, json_text(self.changes), self.note, self.created_at)

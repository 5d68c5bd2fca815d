"""Set-based writes for the pipeline: one UPDATE ... FROM unnest(...) per chunk.

Django's ``bulk_update`` builds one ``CASE WHEN id=... THEN ...`` per field and
row; with the ~25 fields a pipeline chunk touches that SQL grows with
rows x fields and is planned slowly. Passing one array per column to ``unnest``
keeps the statement constant-size whatever the chunk (see README, Performance).
"""
import json
from collections.abc import Sequence

from django.db import connection
from django.db.models import JSONField, Model


def _array_type(field) -> str:
    db_type = field.db_type(connection) if not field.is_relation else field.target_field.rel_db_type(connection)
    if db_type.startswith("serial") or db_type.startswith("bigserial"):
        db_type = "bigint"
    return db_type


def bulk_update_values(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of every object in ``objs`` (matched by primary key) in one
    statement. Fields are given by name; ``auto_now`` fields are not touched unless
    listed. Returns the number of rows updated."""
    if not objs or not fields:
        return 0
    meta = model._meta
    pk = meta.pk
    model_fields = [meta.get_field(name) for name in fields]
    columns = [pk.column] + [f.column for f in model_fields]
    arrays: list[list] = [[obj.pk for obj in objs]]
    casts = [f"{_array_type(pk)}[]"]
    selects = []
    for index, field in enumerate(model_fields, start=1):
        attname = field.get_attname()
        if isinstance(field, JSONField):
            arrays.append([json.dumps(getattr(obj, attname), cls=field.encoder) for obj in objs])
            casts.append("text[]")
            selects.append(f'"{field.column}" = v."c{index}"::jsonb')
        else:
            arrays.append([field.get_db_prep_save(getattr(obj, attname), connection) for obj in objs])
            casts.append(f"{_array_type(field)}[]")
            selects.append(f'"{field.column}" = v."c{index}"')
    unnest = ", ".join(f"%s::{cast}" for cast in casts)
    aliases = ", ".join(["id"] + [f'"c{i}"' for i in range(1, len(columns))])
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {", ".join(selects)} '
        f"FROM unnest({unnest}) AS v({aliases}) WHERE t.\"{pk.column}\" = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount

"""Back up and restore one tenant: its schema (pg_dump/pg_restore) plus its files.

A backup is a gzipped tar holding ``meta.json`` (the tenant row and its domains),
``schema.dump`` (pg_dump custom format of the tenant's schema) and ``files/``
(MEDIA_ROOT/<schema>/). The PostgreSQL client programs come from the pgserver
package, which ships a recent pg_dump that reads older servers too.
"""
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.models import Domain, Tenant
from tenants.services import TenantError, validate_slug

FORMAT_VERSION = 1


def _bin(name: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _conn_args(database: str | None = None) -> tuple[list[str], dict]:
    db = settings.DATABASES["default"]
    args = ["--username", db.get("USER") or "postgres", "--dbname", database or db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    return args, env


def _run(cmd: list[str], env: dict) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise TenantError(f"{Path(cmd[0]).name} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")


def _media_dir(slug: str) -> Path:
    return Path(settings.MEDIA_ROOT) / slug


def tenant_backup(*, slug: str, path: Path) -> dict:
    """Write the tenant's backup to ``path``. Returns the metadata stored in it."""
    with schema_context(get_public_schema_name()):
        try:
            tenant = Tenant.objects.get(schema_name=slug)
        except Tenant.DoesNotExist:
            raise TenantError(f"no tenant '{slug}'")
        meta = {
            "format": FORMAT_VERSION,
            "schema": slug,
            "name": tenant.name,
            "plan": tenant.plan,
            "lead_quota": tenant.lead_quota,
            "is_active": tenant.is_active,
            "domains": list(tenant.domains.order_by("-is_primary", "domain").values_list("domain", flat=True)),
        }
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "schema.dump"
        args, env = _conn_args()
        _run([_bin("pg_dump"), *args, "--format=custom", "--no-owner", "--no-acl",
              "--schema", slug, "--file", str(dump)], env)
        with tarfile.open(path, "w:gz") as tar:
            data = json.dumps(meta, indent=2).encode()
            info = tarfile.TarInfo("meta.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname="schema.dump")
            if _media_dir(slug).is_dir():
                tar.add(_media_dir(slug), arcname="files")
    return meta


def tenant_restore(*, path: Path, slug: str, domain: str | None = None) -> Tenant:
    """Restore a backup as tenant ``slug`` (which must not exist yet) on ``domain``
    (default: the backup's primary domain when it is free, else ``<slug>.localhost``).

    The dump is first restored into a scratch database where its schema is renamed,
    so restoring next to the original tenant never touches the original's schema.
    """
    validate_slug(slug)
    with tarfile.open(path, "r:gz") as tar, tempfile.TemporaryDirectory() as tmp:
        tar.extractall(tmp, filter="data")
        meta = json.loads((Path(tmp) / "meta.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise TenantError(f"unsupported backup format {meta.get('format')!r}")
        with schema_context(get_public_schema_name()):
            if Tenant.objects.filter(schema_name=slug).exists() or schema_exists(slug):
                raise TenantError(f"slug '{slug}' is already taken")
            if domain is None:
                wanted = meta["domains"][0] if meta["domains"] else f"{slug}.localhost"
                domain = wanted if not Domain.objects.filter(domain=wanted).exists() else f"{slug}.localhost"
            if Domain.objects.filter(domain=domain).exists():
                raise TenantError(f"domain '{domain}' is already taken")

        dump = Path(tmp) / "schema.dump"
        if meta["schema"] != slug:
            dump = _renamed_dump(dump, meta["schema"], slug, Path(tmp))
        args, env = _conn_args()
        _run([_bin("pg_restore"), *args, "--no-owner", "--no-acl", "--exit-on-error", str(dump)], env)

        with schema_context(get_public_schema_name()):
            # The schema exists now, so saving the tenant creates nothing; it only
            # applies migrations the backup may predate.
            tenant = Tenant(schema_name=slug, name=meta["name"], plan=meta["plan"],
                            lead_quota=meta["lead_quota"], is_active=meta["is_active"])
            tenant.save()
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
        files = Path(tmp) / "files"
        if files.is_dir():
            shutil.copytree(files, _media_dir(slug), dirs_exist_ok=True)
    connection.set_schema_to_public()
    return tenant


def _renamed_dump(dump: Path, old: str, new: str, tmp: Path) -> Path:
    scratch = f"leadhub_restore_{uuid.uuid4().hex[:10]}"
    admin_args, env = _conn_args("postgres")
    _run([_bin("psql"), *admin_args, "-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{scratch}"'], env)
    try:
        args, env = _conn_args(scratch)
        _run([_bin("pg_restore"), *args, "--no-owner", "--no-acl", "--exit-on-error", str(dump)], env)
        _run([_bin("psql"), *args, "-v", "ON_ERROR_STOP=1", "-c", f'ALTER SCHEMA "{old}" RENAME TO "{new}"'], env)
        renamed = tmp / "renamed.dump"
        _run([_bin("pg_dump"), *args, "--format=custom", "--no-owner", "--no-acl", "--schema", new,
              "--file", str(renamed)], env)
        return renamed
    finally:
        _run([_bin("psql"), *admin_args, "-c", f'DROP DATABASE IF EXISTS "{scratch}"'], env)

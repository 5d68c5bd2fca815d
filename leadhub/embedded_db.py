"""Embedded PostgreSQL for machines without DATABASE_URL.

pgserver ships PostgreSQL binaries inside its wheel. The server is started in
``LEADHUB_DATA_DIR/pg`` on first use, reused by every later process (web, worker,
commands, tests) while it runs, and stopped when the last process using it exits.
"""
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "leadhub"


def embedded_database(pgdata: Path) -> dict:
    """Start (or join) the embedded server and return a Django DATABASES entry."""
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    info = server.get_postmaster_info()
    return {
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir) if info.socket_dir else "127.0.0.1",
        "PORT": "" if info.socket_dir else str(info.port),
        "CONN_MAX_AGE": 0,
    }

"""A private PostgreSQL server for fault tests that restart the database.

The shared server on 127.0.0.1:5432 serves every other test (and other people):
it is never restarted. pgserver ships PostgreSQL binaries in its wheel and runs
a server on a Unix socket in a folder of our own, which a test may stop, start
and restart at will. The product runs against it in child processes
(``manage.py`` commands, gunicorn) with DATABASE_URL pointing at the socket.
"""
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "lh_fault"


class PrivatePostgres:
    def __init__(self, pgdata: Path):
        import pgserver

        self.server = pgserver.get_server(pgdata, cleanup_mode="stop")
        info = self.server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        if "(1 row)" not in self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';"):
            self.server.psql(f"CREATE DATABASE {DATABASE};")
        self.url = f"postgres://postgres@{quote(self.socket_dir, safe='')}/{DATABASE}"

    def pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        # The server runs as pgserver's own system user when we are root.
        pg_ctl(["-w", *args], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def restart(self) -> None:
        """Fast restart: every open session is terminated, open transactions roll back."""
        self.pg_ctl("-m", "fast", "restart")

    def connect(self) -> psycopg.Connection:
        """A direct connection for the test's own checks, retried while the server starts."""
        for _ in range(100):
            try:
                return psycopg.connect(host=self.socket_dir, dbname=DATABASE, user="postgres", autocommit=True)
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError("private PostgreSQL does not answer")

    def scalar(self, sql: str, params=()):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def env(self, **extra: str) -> dict:
        """Environment of a child process running the product against this server."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "Q_SYNC", "DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST")}
        env.update({"DJANGO_SETTINGS_MODULE": "leadhub.settings", "DEBUG": "true", "DATABASE_URL": self.url,
                    "LOG_LEVEL": "WARNING", **extra})
        return env

    def manage(self, *args: str, check: bool = True, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(**extra_env),
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"manage.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
        return proc

    def popen(self, *args: str, **extra_env: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=self.env(**extra_env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self) -> None:
        self.server.cleanup()

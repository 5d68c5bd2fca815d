"""API benchmark: POST /api/v1/leads/batch (1000 leads) and a 100k-row CSV import,
through gunicorn on a loopback port, against a fresh bench tenant.

Figures: ``api_batch_1000_median_ms`` (target <= 250) and ``csv_import_rows_per_s``
(target >= 20,000).
"""
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django_tenants.utils import schema_context

from tests.bench.support import bench_tenant, median_ms, print_table

SLUG, HOST = "bench_api", "bench-api.localhost"
BATCH_RUNS = 11
CSV_ROWS = 100_000
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lead(run: int, i: int) -> dict:
    """A distinct person per (run, i): no email or phone repeats, so nothing is a duplicate."""
    return {
        "external_id": f"r{run}-{i}", "email": f"person{i}.r{run}@company{i % 700}.com", "first_name": "Alex",
        "last_name": f"Example{i}", "company": f"Company {i % 700} Inc.", "title": "Head of Sales",
        "phone": f"+1 415 {200 + run % 700:03d} {i:04d}", "website": f"https://company{i % 700}.com", "city": "Austin",
        "country": "US", "utm_campaign": "spring",
    }


def _write_csv(path: Path, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Email Address", "First Name", "Last Name", "Company Name", "Job Title", "Phone Number",
                         "Website", "City", "Country", "Lead Source Detail"])
        for i in range(rows):
            writer.writerow([f"csv{i}@firm{i % 5000}.com", "Sam", f"Sample{i}", f"Firm {i % 5000} LLC",
                             "Marketing Manager", f"+44 20 {70_000_000 + i}", f"firm{i % 5000}.com", "London",
                             "UK", "webinar"])


def _start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
           "ALLOWED_HOSTS": f"{HOST},127.0.0.1,localhost", "LOG_LEVEL": "WARNING", "SECURE_COOKIES": "false",
           "THROTTLE_API_KEY_RATE": "100000/min"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "300", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            response = requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": HOST}, timeout=10)
            if response.status_code == 200:
                return server
            last = f"{response.status_code} {response.text[:200]}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.3)
    server.terminate()
    server.wait(timeout=30)
    raise RuntimeError(f"gunicorn did not answer: {last}")


def run(n: int) -> dict:
    from leads.services.apikeys import api_key_create

    with bench_tenant(SLUG, HOST):
        with schema_context(SLUG):
            _key, key = api_key_create(name="bench", scopes=["read", "write"])
        port = _free_port()
        server = _start_server(port)
        session = requests.Session()
        session.headers.update({"Host": HOST, "Authorization": f"Api-Key {key}"})
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            for warm in range(2):  # both workers load code and open their connection
                session.post(f"{base}/leads/batch", json={"source": "warm", "leads": [_lead(900 + warm, 0)]})
            times = []
            for run_no in range(BATCH_RUNS):
                payload = {"source": "bench", "leads": [_lead(run_no, i) for i in range(1000)]}
                started = time.perf_counter()
                response = session.post(f"{base}/leads/batch", json=payload)
                times.append(time.perf_counter() - started)
                if response.status_code != 200 or response.json()["summary"]["created"] != 1000:
                    raise RuntimeError(f"batch failed: {response.status_code} {response.text[:300]}")
            batch_ms = median_ms(times)

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "leads-100k.csv"
                _write_csv(path, CSV_ROWS)
                size_mb = path.stat().st_size / 1e6
                with open(path, "rb") as f:
                    started = time.perf_counter()
                    response = session.post(f"{base}/leads/import", files={"file": ("leads-100k.csv", f, "text/csv")},
                                            data={"source": "bench-csv"}, timeout=600)
                    csv_s = time.perf_counter() - started
            if response.status_code != 201:
                raise RuntimeError(f"import failed: {response.status_code} {response.text[:300]}")
            stored = response.json()["created_count"]
            rate = round(stored / csv_s)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print_table(
        [("POST /leads/batch, 1000 leads", f"median {batch_ms} ms of {BATCH_RUNS}",
          f"min {min(times) * 1000:.0f} / max {max(times) * 1000:.0f} ms", "<= 250 ms"),
         (f"POST /leads/import, {CSV_ROWS:,} rows ({size_mb:.1f} MB)", f"{csv_s:.1f} s, {stored:,} stored",
          f"{rate:,} rows/s", ">= 20,000 rows/s")],
        ("what", "time", "rate", "target"),
    )
    return {"api_batch_1000_median_ms": batch_ms, "csv_import_rows_per_s": rate}

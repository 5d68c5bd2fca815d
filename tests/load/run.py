"""`make load`: concurrent clients against gunicorn on loopback, then a count reconciliation.

Two tenants, each with an API key. For DURATION seconds (default 60), CLIENTS threads
post batches of leads (each with a unique external_id) and read lead lists, alternating
tenants. Afterwards every row the API accepted must be stored exactly once in its own
tenant's schema: zero lost, zero duplicated, nothing in the other tenant.
Traffic goes only to 127.0.0.1; the run is bounded in time and request count.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
os.environ.setdefault("DEBUG", "true")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "THROTTLE_API_KEY_RATE": "100000/min", "THROTTLE_USER_RATE": "100000/min"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    import requests

    for _ in range(120):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}, timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", 60)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("CLIENTS", 8)))
    parser.add_argument("--batch", type=int, default=100, help="leads per POST")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--max-requests", type=int, default=50_000)
    args = parser.parse_args()

    import django

    django.setup()
    import requests
    from django_tenants.utils import schema_context

    from leads.models import ApiKey, Lead
    from tests.bench.support import bench_tenant

    tenants = {"load_a": "load-a.localhost", "load_b": "load-b.localhost"}
    with bench_tenant("load_a", tenants["load_a"]), bench_tenant("load_b", tenants["load_b"]):
        keys = {}
        for slug in tenants:
            with schema_context(slug):
                _, keys[slug] = ApiKey.objects.create_key(name="load", scopes="read,write")
        port = free_port()
        server = start_gunicorn(port, args.workers)
        base = f"http://127.0.0.1:{port}"
        lock = threading.Lock()
        latencies: dict[str, list[float]] = {"post_batch": [], "get_list": []}
        errors: list[str] = []
        accepted: dict[str, dict[str, int]] = {slug: {} for slug in tenants}  # external_id -> lead id
        mail_domain = {slug: host.replace(".localhost", ".example.com") for slug, host in tenants.items()}
        sent = {"requests": 0}
        deadline = time.monotonic() + args.duration

        def client(n: int) -> None:
            session = requests.Session()
            i = 0
            while time.monotonic() < deadline:
                with lock:
                    if sent["requests"] >= args.max_requests:
                        return
                    sent["requests"] += 1
                slug = list(tenants)[(n + i) % 2]
                headers = {"Host": tenants[slug], "Authorization": f"Api-Key {keys[slug]}"}
                i += 1
                started = time.perf_counter()
                try:
                    if i % 4 == 0:
                        r = session.get(f"{base}/api/v1/leads?page_size=50", headers=headers, timeout=30)
                        kind = "get_list"
                    else:
                        rows = []
                        for _ in range(args.batch):
                            ext = uuid.uuid4().hex
                            # Host names hold no underscore: an email at "load_a.example.com" is refused.
                            rows.append({"external_id": ext, "email": f"{ext[:12]}@{mail_domain[slug]}",
                                         "first_name": "Load", "last_name": ext[:6], "company": f"Co {ext[:4]}"})
                        r = session.post(f"{base}/api/v1/leads/batch", json={"source": "load", "leads": rows},
                                         headers=headers, timeout=60)
                        kind = "post_batch"
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies[kind].append(elapsed)
                        if r.status_code >= 400:
                            errors.append(f"{kind} {r.status_code} {r.text[:200]}")
                        elif kind == "post_batch":
                            for row in r.json()["rows"]:
                                if row["outcome"] in ("created", "updated"):
                                    accepted[slug][rows[row["index"]]["external_id"]] = row["id"]
                except requests.RequestException as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        server.terminate()
        server.wait(timeout=30)

        from django.db.models import Count

        reconciliation = {}
        stored: dict[str, dict[str, int]] = {}
        for slug in tenants:
            with schema_context(slug):
                rows = Lead.objects.filter(source="load").order_by().values("external_id").annotate(n=Count("id"))
                stored[slug] = {r["external_id"]: r["n"] for r in rows}
        for slug in tenants:
            other = next(s for s in tenants if s != slug)
            expected = accepted[slug]
            lost = [e for e in expected if e not in stored[slug]]
            extra = [e for e in stored[slug] if e not in expected]
            duplicated = [e for e, n in stored[slug].items() if n > 1]
            foreign = [e for e in expected if e in stored[other]]  # this tenant's rows in the other schema
            reconciliation[slug] = {"accepted": len(expected), "stored": sum(stored[slug].values()), "lost": len(lost),
                                    "unexpected": len(extra), "duplicated": len(duplicated),
                                    "in_other_tenant": len(foreign)}

    total = sum(len(v) for v in latencies.values())
    print(f"\nLoad: {args.clients} clients, {wall:.1f} s, gunicorn {args.workers} workers, batches of {args.batch}")
    print(f"{'request':<12} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, values in latencies.items():
        print(f"{kind:<12} {len(values):>7} {percentile(values, 50)*1000:>8.1f} {percentile(values, 95)*1000:>8.1f} {percentile(values, 99)*1000:>8.1f}")
    print(f"requests/s: {total / wall:.1f}   leads/s stored: {sum(r['stored'] for r in reconciliation.values()) / wall:.0f}   errors: {len(errors)}")
    for err in errors[:5]:
        print("  error:", err)
    print("reconciliation:", json.dumps(reconciliation))
    ok = not errors and all(r["lost"] == 0 and r["unexpected"] == 0 and r["duplicated"] == 0
                            and r["in_other_tenant"] == 0 for r in reconciliation.values())
    figures = {
        "load_requests_per_s": round(total / wall, 1),
        "load_post_p50_ms": round(percentile(latencies["post_batch"], 50) * 1000, 1),
        "load_post_p95_ms": round(percentile(latencies["post_batch"], 95) * 1000, 1),
        "load_post_p99_ms": round(percentile(latencies["post_batch"], 99) * 1000, 1),
        "load_get_p50_ms": round(percentile(latencies["get_list"], 50) * 1000, 1),
        "load_get_p95_ms": round(percentile(latencies["get_list"], 95) * 1000, 1),
        "load_get_p99_ms": round(percentile(latencies["get_list"], 99) * 1000, 1),
        "load_errors": len(errors),
        "load_lost": sum(r["lost"] for r in reconciliation.values()),
        "load_duplicated": sum(r["duplicated"] + r["unexpected"] for r in reconciliation.values()),
    }
    print(json.dumps(figures, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: runs every tests/bench/bench_*.py module and ends with one JSON line.

Each module defines ``run(n: int) -> dict[str, float]``; it prints its own readable
table and returns its figures under stable keys. The figures of all modules are
merged into the final JSON line so runs can be compared over time.
"""
import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
os.environ.setdefault("DEBUG", "true")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="leads for the pipeline benchmarks")
    parser.add_argument("--only", default="", help="comma-separated module names (e.g. bench_pipeline)")
    args = parser.parse_args()

    import django

    django.setup()
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted]
    figures: dict[str, float] = {}
    failed = []
    for name in names:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            figures.update(module.run(args.n))
        except Exception as exc:  # one broken benchmark must not hide the others
            failed.append(name)
            print(f"{name} failed: {exc!r}", file=sys.stderr)
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    print(json.dumps(figures, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

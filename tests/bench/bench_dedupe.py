"""Duplicate detection quality: pairwise precision, recall and F1 on a seeded,
labelled set of messy B2B leads run through the real pipeline (the ingestion
service with exact keys, then fuzzy dedupe in process_leads) in a fresh bench tenant."""
import itertools
import time
from collections import Counter

from django.conf import settings
from django_tenants.utils import schema_context

from tests.bench.support import bench_tenant, print_table

SIZE = 20_000


def _pairs(counter: Counter) -> int:
    return sum(c * (c - 1) // 2 for c in counter.values())


def run(n: int) -> dict:
    from leads.models import Lead
    from processing.pipeline import process_leads
    from leads.services.ingest import ingest_leads
    from tests.bench.leadgen import LeadGenerator

    settings.DEBUG = False
    gen = LeadGenerator(seed=20_000, dup_rate=0.3)
    rows = gen.rows(SIZE)
    started = time.perf_counter()
    with bench_tenant("bench_dedupe"), schema_context("bench_dedupe"):
        while chunk := list(itertools.islice(rows, 1000)):
            ingest_leads(rows=chunk, source="bench", actor="bench")
        ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
        process_leads(ids, actor="bench")
        parent, entity = {}, {}
        for pk, dup_of, ent in Lead.objects.values_list("pk", "duplicate_of_id", "raw__entity"):
            parent[pk], entity[pk] = dup_of, ent
    elapsed = time.perf_counter() - started

    def root(pk):
        while parent[pk] is not None:
            pk = parent[pk]
        return pk

    clusters = Counter(root(pk) for pk in parent)
    entities = Counter(entity.values())
    both = Counter((root(pk), entity[pk]) for pk in parent)
    true_pos, predicted, actual = _pairs(both), _pairs(clusters), _pairs(entities)
    precision = true_pos / predicted if predicted else 1.0
    recall = true_pos / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print_table([
        ("leads", SIZE), ("real-world records", len(entities)), ("true duplicate pairs", actual),
        ("predicted pairs", predicted), ("correct pairs", true_pos), ("precision", f"{precision:.4f}"),
        ("recall", f"{recall:.4f}"), ("F1", f"{f1:.4f}"), ("seconds", f"{elapsed:.1f}"),
    ], ("figure", "value"))
    return {"dedupe_precision": round(precision, 4), "dedupe_recall": round(recall, 4), "dedupe_f1": round(f1, 4)}

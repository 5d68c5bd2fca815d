"""Deduplication: exact keys, fuzzy matching, merge with survivorship, un-merge.

Rules (README, Pipeline):

* Exact keys: canonical email (``email_key``), LinkedIn profile (``linkedin_key``),
  ``(source, external_id)``, and the E.164 phone (``phone_key``) when the names do
  not contradict it (a switchboard number is shared by colleagues). The database
  is the truth; the partial unique index ``lead_surviving_email_key_uniq`` backs it.
* Fuzzy: candidates come from blocking keys (``name_key``, ``company_key``,
  ``domain``, ``phone_key``) in one query per chunk; each pair is scored from name
  similarity (Jaro-Winkler, nicknames) and evidence (company, domain, phone,
  address, email). Company-only leads match on company plus address, phone or
  domain. ``score >= fuzzy_match_threshold`` merges; the band down to
  ``fuzzy_review_threshold`` only sets ``possible_duplicate_of``.
* The survivor of a group is the lowest id among leads already in the database
  outside the chunk, else the lowest id in the chunk; for unsaved leads at
  ingestion, a saved lead wins, else the first of the list.
* Concurrency: every writer takes transaction-scoped advisory locks on the keys it
  looks up (``lock_keys``) before reading candidates, so two workers with leads
  sharing a key run one after the other and never leave two survivors.
"""
from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import orjson
from django.db import connection, transaction
from django.utils import timezone
from nicknames import NickNamer
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings
from leads.models.lead import CONTACT_FIELDS, SURVIVING_STATUSES
from processing.bulk import bound_cursor
from processing.timing import timed

# Fields the survivor may take over from a duplicate when its own are empty:
# the contact fields plus what normalization derived from them.
SURVIVORSHIP_FIELDS = CONTACT_FIELDS + (
    "email_key", "phone_key", "linkedin_key", "company_key", "domain", "name_key",
    "seniority", "department", "country_code",
)
# Statuses whose leads can be the survivor found by a look-up.
MATCHABLE_STATUSES = [s for s in SURVIVING_STATUSES if s != LeadStatus.ERROR]
# Email keys are indexed for surviving leads only (lead_surviving_email_key_uniq): an
# email look-up names the statuses it wants so that PostgreSQL can use that index.
_MATCHABLE_SQL = "(" + ", ".join(f"'{s}'" for s in MATCHABLE_STATUSES) + ")"
# Advisory locks are bucketed so a chunk never takes more than this many
# (PostgreSQL's shared lock table is small); collisions only serialize more.
LOCK_BUCKETS = 1024
LOCK_BASE = 7_000_000_000  # advisory lock ids of match keys: LOCK_BASE .. LOCK_BASE + LOCK_BUCKETS - 1
# A blocking key shared by more leads than this (a huge company, "smith") is
# not used alone to find candidates: it would compare everything with everything.
MAX_BLOCK = 300

_nicknamer = NickNamer()


class UnmergeError(Exception):
    """The lead cannot be restored (not a duplicate, or restoring would clash)."""


# --------------------------------------------------------------------------- locks

def lock_keys(keys: Iterable[str]) -> None:
    """Take transaction-scoped advisory locks on match keys (``"email:a@b.c"``), in
    ascending order so concurrent writers cannot deadlock. Must run inside the
    transaction that writes the outcome (a no-op lock is useless in autocommit)."""
    schema = getattr(connection, "schema_name", "public")
    # A key's lock is the CRC-32 of "<schema>:<key>": the same in every process
    # (unlike hash()), and a lock needs spread, not secrecy.
    crc, crc32 = zlib.crc32(f"{schema}:".encode()), zlib.crc32
    buckets = sorted({crc32(k.encode(), crc) % LOCK_BUCKETS + LOCK_BASE for k in keys})
    if not buckets:
        return
    with bound_cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%b::bigint[]) AS k", [buckets],
                       prepare=False)


def lead_lock_keys(lead: Lead, *, fuzzy: bool = False) -> list[str]:
    keys = [f"email:{lead.email_key}" if lead.email_key else "", f"linkedin:{lead.linkedin_key}" if lead.linkedin_key else "",
            f"phone:{lead.phone_key}" if lead.phone_key else ""]
    if lead.external_id:
        keys.append(f"ext:{lead.source}:{lead.external_id}")
    if fuzzy:
        keys += [f"name:{lead.name_key}" if lead.name_key else "", f"company:{lead.company_key}" if lead.company_key else "",
                 f"domain:{lead.domain}" if lead.domain else ""]
    return [k for k in keys if k]


# ---------------------------------------------------------------------- similarity

def _fold(value: str) -> str:
    return " ".join(value.lower().replace(".", " ").replace("-", " ").split())


@lru_cache(maxsize=50_000)
def first_name_similarity(a: str, b: str) -> float:
    """1.0 for the same name or a nickname of it (Bob = Robert), 0.9 for an initial
    or two nicknames of one name, else Jaro-Winkler."""
    a, b = _fold(a), _fold(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    a1, b1 = a.split()[0], b.split()[0]
    if a1 == b1:
        return 1.0
    if b1 in _nicknamer.nicknames_of(a1) or a1 in _nicknamer.nicknames_of(b1):
        return 1.0
    if len(a1) == 1 or len(b1) == 1:
        return 0.9 if a1[0] == b1[0] else 0.0
    if _nicknamer.canonicals_of(a1) & (_nicknamer.canonicals_of(b1) | {b1}) or a1 in _nicknamer.canonicals_of(b1):
        return 0.9
    return JaroWinkler.similarity(a1, b1)


@lru_cache(maxsize=50_000)
def last_name_similarity(a: str, b: str) -> float:
    a, b = _fold(a), _fold(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return max(JaroWinkler.similarity(a, b), fuzz.token_sort_ratio(a, b) / 100)


def _company_similarity(a: Lead, b: Lead) -> float | None:
    """1.0 same company key, a fuzzy ratio for near spellings, None if unknown."""
    if not a.company_key or not b.company_key:
        return None
    if a.company_key == b.company_key:
        return 1.0
    return fuzz.token_set_ratio(a.company_key, b.company_key) / 100


_STREET_WORDS = {"street": "st", "avenue": "ave", "road": "rd", "boulevard": "blvd", "suite": "ste",
                 "drive": "dr", "lane": "ln", "floor": "fl", "strasse": "str", "straße": "str"}


@lru_cache(maxsize=50_000)
def _street(value: str) -> str:
    return " ".join(_STREET_WORDS.get(w, w) for w in _fold(value.replace(",", " ")).split())


def _same_address(a: Lead, b: Lead) -> bool:
    if a.postal_code and b.postal_code and a.street and b.street:
        return (a.postal_code.replace(" ", "").lower() == b.postal_code.replace(" ", "").lower()
                and fuzz.token_set_ratio(_street(a.street), _street(b.street)) >= 90)
    return False


def _is_person(lead: Lead) -> bool:
    return bool(lead.first_name or lead.last_name)


def _flags(lead: Lead) -> dict:
    return lead.normalized or {}


def match_score(a: Lead, b: Lead) -> tuple[float, str]:
    """How likely two leads are the same record, 0..1, and a short reason."""
    if a.email_key and a.email_key == b.email_key:
        return 1.0, "same email"
    if a.linkedin_key and a.linkedin_key == b.linkedin_key:
        return 1.0, "same LinkedIn profile"
    if a.external_id and a.source == b.source and a.external_id == b.external_id:
        return 1.0, "same source id"
    a_person, b_person = _is_person(a), _is_person(b)
    if a_person != b_person:
        return 0.0, "a person and a company"
    if a_person:
        # Names first: most pairs in a block are colleagues, and this rules them out cheaply.
        last = last_name_similarity(a.last_name, b.last_name) if (a.last_name and b.last_name) else 0.0
        if last < 0.85:
            return 0.0, "different names"
        first = first_name_similarity(a.first_name, b.first_name) if (a.first_name and b.first_name) else 0.0
        if first < 0.85:
            # Colleagues at one company differ by name: never the same person.
            return 0.0, "different names"
    same_phone = bool(a.phone_key and a.phone_key == b.phone_key)
    company = _company_similarity(a, b)
    same_company = company is not None and company >= 0.9
    same_domain = bool(a.domain and a.domain == b.domain)
    same_address = _same_address(a, b)

    if not a_person:
        if not same_company:
            return 0.0, "different companies"
        evidence = same_phone or same_address or same_domain
        return (0.95, "same company and contact point") if evidence else (0.85, "same company name only")

    score = 0.5 * first + 0.5 * last

    # Different mailboxes at one company domain: two people, not one.
    if a.email_key and b.email_key and a.email_key != b.email_key:
        a_domain, b_domain = a.email_key.rsplit("@", 1)[-1], b.email_key.rsplit("@", 1)[-1]
        if a_domain == b_domain and not _flags(a).get("is_free") and not _flags(a).get("is_role"):
            return score * 0.85, "different addresses at one company"
    conflict_company = company is not None and company < 0.9 and not same_domain
    conflict_phone = bool(a.phone_key and b.phone_key and not same_phone)
    if conflict_company and not same_phone:
        # Namesakes at different companies.
        return score * 0.6, "same name at different companies"
    evidence = sum((same_phone, same_company or same_domain, same_address))
    if evidence:
        bonus = 0.02 * (evidence - 1)
        return min(1.0, score + bonus) if not conflict_phone else score * 0.95, "same name with matching contact details"
    return score * 0.9, "same name, nothing else to compare"


# -------------------------------------------------------------------- union-find

class _Groups:
    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


# ------------------------------------------------------------ exact, at ingestion

# What the exact matcher reads from a saved lead (``_exact_match``, ``match_score``,
# ``lead_lock_keys``); the survivor is only referenced by id afterwards.
_EXACT_COLUMNS = ("id", "status", "source", "external_id", "email_key", "linkedin_key", "phone_key", "company_key",
                  "domain", "name_key", "first_name", "last_name", "street", "postal_code", "normalized")


def text_array(values: Iterable[str]) -> str:
    """A PostgreSQL text[] literal of ``values`` (pass it with a ``::text[]`` cast).
    Quoting each element here costs a fifth of what adapting a list of thousands of
    strings element by element does, for the same array."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _exact_candidates(leads: Sequence[Lead], *, external_ids: bool = True) -> list[Lead]:
    """Saved, matchable leads sharing an exact key with ``leads``, lowest id first.

    One statement: per key kind one index look-up with an array parameter
    (``= ANY(%s)``; ``(source, external_id)`` pairs join an ``unnest`` of two
    arrays), united by id. A Django ``Q`` per pair cost more to build and plan than
    the look-ups themselves. ``external_ids=False`` skips the pairs: the caller
    already matched them (a lead with a stored pair carries that lead's pk).
    """
    table = Lead._meta.db_table
    arms, params = [], []
    for field in ("email_key", "linkedin_key", "phone_key"):
        values = sorted({getattr(l, field) for l in leads if getattr(l, field)})
        if values:
            # The "<> ''" lets PostgreSQL use the partial index on the key.
            arm = f'SELECT id FROM "{table}" WHERE "{field}" = ANY(%s::text[]) AND "{field}" <> \'\''
            arms.append(arm + f' AND "status" IN {_MATCHABLE_SQL}' if field == "email_key" else arm)
            params.append(text_array(values))
    pairs = sorted({(l.source, l.external_id) for l in leads if l.external_id}) if external_ids else []
    if pairs:
        arms.append(f'SELECT l.id FROM "{table}" AS l JOIN unnest(%s::text[], %s::text[]) AS k(source, external_id) '
                    "ON l.source = k.source AND l.external_id = k.external_id WHERE l.external_id <> ''")
        params += [text_array(source for source, _ in pairs), text_array(ext for _, ext in pairs)]
    if not arms:
        return []
    columns = ", ".join(f'l."{Lead._meta.get_field(c).column}"' for c in _EXACT_COLUMNS)
    sql = (f'SELECT {columns} FROM "{table}" AS l JOIN ({" UNION ".join(arms)}) AS m ON m.id = l.id '
           "ORDER BY l.id")
    own = {l.pk for l in leads if l.pk}
    matchable = set(MATCHABLE_STATUSES)
    # Status is filtered here rather than in SQL (see _candidates).
    return [l for l in Lead.objects.raw(sql, params) if l.status in matchable and l.pk not in own]


def _exact_match(a: Lead, b: Lead, review_threshold: float) -> bool:
    if a.email_key and a.email_key == b.email_key:
        return True
    if a.linkedin_key and a.linkedin_key == b.linkedin_key:
        return True
    if a.external_id and (a.source, a.external_id) == (b.source, b.external_id):
        return True
    if a.phone_key and a.phone_key == b.phone_key:
        # A shared number is one record only when the names agree (or one side has none).
        if not _is_person(a) or not _is_person(b):
            return _is_person(a) == _is_person(b) and (_company_similarity(a, b) or 0) >= 0.9
        score, _ = match_score(a, b)
        return score >= review_threshold
    return False


def dedupe_incoming(leads: list[Lead], *, settings: TenantSettings | None = None,
                    external_ids_checked: bool = False) -> list[Lead]:
    """Exact-key deduplication of *unsaved*, normalized leads against the database
    and within the list. A duplicate gets status ``duplicate`` and ``duplicate_of``
    the survivor: a saved lead (lowest id), else the first lead of the list with the
    key -- that one is unsaved, so insert leads whose status is not ``duplicate``
    first (Django then fills ``duplicate_of_id``). Takes advisory locks on the keys:
    call it inside the transaction that inserts the leads. Returns the duplicates.

    ``external_ids_checked``: the caller has already looked every
    ``(source, external_id)`` up (a lead whose pair is stored carries that lead's
    pk), so the database is not asked again; within the list the pair still
    matches."""
    settings = settings or TenantSettings.current()
    keys_of = [lead_lock_keys(lead) for lead in leads]
    lock_keys(k for keys in keys_of for k in keys)
    existing = _exact_candidates(leads, external_ids=not external_ids_checked)
    index: dict[str, list] = defaultdict(list)
    for lead in existing:
        for key in lead_lock_keys(lead):
            index[key].append(lead)
    groups = _Groups()
    # In-list nodes are ("n", position); saved leads are ("a", id) and sort first.
    # Only leads that match something enter the groups: most match nothing.
    review_threshold = settings.fuzzy_review_threshold
    by_key: dict[str, int] = {}
    saved: dict = {}
    for pos, (lead, keys) in enumerate(zip(leads, keys_of)):
        for key in keys:
            others = index.get(key)
            if others:
                for other in others:
                    if _exact_match(lead, other, review_threshold):
                        saved[("a", other.pk)] = other
                        groups.union(("a", other.pk), ("n", pos))
            first = by_key.get(key)
            if first is None:
                by_key[key] = pos
            elif _exact_match(lead, leads[first], review_threshold):
                groups.union(("n", first), ("n", pos))
    duplicates = []
    for pos in sorted(node[1] for node in groups.parent if node[0] == "n"):
        root = groups.find(("n", pos))
        if root == ("n", pos):
            continue
        lead = leads[pos]
        lead.status = LeadStatus.DUPLICATE
        lead.duplicate_of = saved[root] if root[0] == "a" else leads[root[1]]
        duplicates.append(lead)
    return duplicates


# --------------------------------------------------------- fuzzy, in the pipeline

@dataclass
class DedupeOutcome:
    merged: list[tuple[Lead, Lead]]       # (duplicate, survivor)
    flagged: list[tuple[Lead, Lead]]      # (lead, possible duplicate of)


# What the matcher compares; survivors are loaded in full only once chosen.
_CANDIDATE_COLUMNS = ("id", "status", "source", "external_id", "email_key", "linkedin_key", "phone_key", "company_key",
                      "company", "domain", "name_key", "first_name", "last_name", "street", "postal_code")


class Candidate:
    """A saved lead as the matcher sees it: the columns it compares and the flags
    it needs, without building a full model instance (thousands per chunk).
    ``merge_history`` is loaded only for the few that become survivors."""

    __slots__ = (*_CANDIDATE_COLUMNS, "pk", "normalized", "merge_history")

    def __init__(self, row: tuple):
        # The row: _CANDIDATE_COLUMNS, then the two flags (see _candidates).
        (self.id, self.status, self.source, self.external_id, self.email_key, self.linkedin_key, self.phone_key,
         self.company_key, self.company, self.domain, self.name_key, self.first_name, self.last_name, self.street,
         self.postal_code, is_free, is_role) = row
        self.pk = self.id
        self.normalized = {"is_free": is_free, "is_role": is_role}
        self.merge_history = None


_NAMED_BLOCKS = ("company_key", "domain")


def _candidates(leads: Sequence[Lead], *, unique_emails: Collection[int] = ()) -> list[Candidate]:
    """Saved, matchable leads sharing a blocking key with any of ``leads``: one
    query, one array parameter per key (an IN list of thousands of parameters
    costs more to build than to run). ``unique_emails``: ids of leads whose email
    key is not looked up (see ``find_duplicates``)."""
    keys = {"company_key": set(), "domain": set(), "phone_key": set(), "linkedin_key": set()}
    for lead in leads:
        for field in keys:
            value = getattr(lead, field)
            if value:
                keys[field].add(value)
    keys["email_key"] = {l.email_key for l in leads if l.email_key and l.pk not in unique_emails}
    # A last name alone is a weak, huge block ("smith"): look it up only for leads
    # with nothing better to block on (no company, domain or phone).
    keys["name_key"] = {l.name_key for l in leads if l.name_key and not (l.company_key or l.domain or l.phone_key)}
    wanted = [(field, sorted(values)) for field, values in keys.items() if values]
    if not wanted:
        return []
    # One branch per key (UNION ALL), each probing the key's partial index once per
    # value of the chunk, passed as one array and unnested ("<> ''" makes the
    # partial index usable). "key = ANY(array)" ORed over the keys made PostgreSQL
    # estimate every element against the column statistics (tens of milliseconds
    # of planning per chunk) and then scan the table.
    # Company and domain blocks are narrowed to the same initial of the last name
    # (see _blocks): colleagues with other names can never match. Status is
    # filtered here: almost every lead is in a matchable status. The chunk's own
    # leads are left out in SQL so they are not sent back once per key.
    columns = ", ".join(f'l."{Lead._meta.get_field(c).column}"' for c in _CANDIDATE_COLUMNS)
    # LATERAL with OFFSET 0 (which keeps PostgreSQL from flattening it into a
    # plain join): a nested loop of index probes, one per value. Given a plain
    # join, the planner expects a block per value as large as the column's
    # average and prefers hashing a scan of the whole table.
    select = (f"SELECT l.* FROM unnest(%b::text[]) AS k(v) CROSS JOIN LATERAL "
              f"(SELECT {columns}, coalesce((l.normalized->>'is_free')::boolean, false), "
              f"coalesce((l.normalized->>'is_role')::boolean, false) FROM \"{Lead._meta.db_table}\" AS l ")
    branches, params = [], []
    for field, values in wanted:
        where = f'WHERE l."{field}" = k.v AND l."{field}" <> \'\' AND l.id NOT IN (SELECT id FROM own)'
        if field == "email_key":
            where += f' AND l."status" IN {_MATCHABLE_SQL}'
        if field in _NAMED_BLOCKS:
            pairs = sorted({(getattr(l, field), (l.name_key or "")[:1]) for l in leads if getattr(l, field)})
            branches.append(select.replace("unnest(%b::text[]) AS k(v)", "unnest(%b::text[], %b::text[]) AS k(v, i)")
                            + where + ' AND left(l."name_key", 1) = k.i OFFSET 0) AS l')
            params += [[v for v, _ in pairs], [i for _, i in pairs]]
        else:
            branches.append(select + where + " OFFSET 0) AS l")
            params.append(values)
    sql = "WITH own AS MATERIALIZED (SELECT unnest(%b::bigint[]) AS id) " + " UNION ALL ".join(branches)
    matchable = set(MATCHABLE_STATUSES)
    with bound_cursor() as cursor:
        if connection.in_atomic_block:
            # The estimate of thousands of probes crosses jit_above_cost, and
            # compiling the plan takes longer than running it (the chunk's other
            # statements are far below that cost anyway).
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [[l.pk for l in leads if l.pk is not None], *params], prepare=False)
        found = {row[0]: row for row in cursor.fetchall() if row[1] in matchable}
    rows = [found[pk] for pk in sorted(found)]
    return [Candidate(row) for row in rows]


def _materialize(pairs: list[tuple]) -> list[tuple]:
    """Replace candidate survivors by full Lead objects (one query)."""
    wanted = {s.pk for _, s in pairs if isinstance(s, Candidate)}
    if not wanted:
        return pairs
    full = Lead.objects.in_bulk(wanted)
    return [(d, full[s.pk] if isinstance(s, Candidate) else s) for d, s in pairs]


def _load_histories(survivors: Iterable) -> None:
    missing = [s for s in survivors if s.merge_history is None]
    if missing:
        histories = dict(Lead.objects.filter(pk__in=[s.pk for s in missing]).values_list("pk", "merge_history"))
        for survivor in missing:
            survivor.merge_history = histories.get(survivor.pk) or []


def _blocks(leads: Iterable[Lead]) -> dict[tuple, list[Lead]]:
    """Leads by blocking key: (kind, value), and for company and domain the
    initial of the last name too (see _candidates)."""
    blocks: dict[tuple, list[Lead]] = defaultdict(list)
    for lead in leads:
        name_key = lead.name_key or ""
        if lead.email_key:
            blocks["e", lead.email_key].append(lead)
        if lead.linkedin_key:
            blocks["l", lead.linkedin_key].append(lead)
        if lead.phone_key:
            blocks["p", lead.phone_key].append(lead)
        if name_key:
            blocks["n", name_key].append(lead)
        if lead.company_key:
            blocks["c", lead.company_key, name_key[:1]].append(lead)
        if lead.domain:
            blocks["d", lead.domain, name_key[:1]].append(lead)
    return blocks


def _split(block: list[Lead]) -> list[list[Lead]]:
    """Oversized blocks (a big company's colleagues) are compared within
    sub-blocks of the first letters of the last name."""
    if len(block) <= MAX_BLOCK:
        return [block]
    subs: dict[str, list[Lead]] = defaultdict(list)
    for lead in block:
        subs[_fold(lead.last_name)[:3] or _fold(lead.company)[:3]].append(lead)
    return [sub for sub in subs.values() if 1 < len(sub) <= MAX_BLOCK * 3]


def _compare(block, chunk_ids, seen, groups, best_review, match_at, review_at, *, by_name=False) -> None:
    # .id, not .pk: the pk property costs a call, and this runs a million times per 100k leads.
    inside = [l for l in block if l.id in chunk_ids]
    for a in inside:
        for b in block:
            if b is a:
                continue
            pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
            if pair in seen:
                continue
            if by_name and (a.company_key or a.domain) and (b.company_key or b.domain):
                # Both have a company: the company and domain blocks compare them
                # if it is the same one; otherwise they are namesakes.
                continue
            seen.add(pair)
            score, _ = match_score(a, b)
            if score >= match_at:
                groups.union(pair[0], pair[1])
            elif score >= review_at:
                # The newer lead points at the older one; a lead outside the chunk is never flagged.
                lead_id, other = (pair[1], pair[0]) if pair[1] in chunk_ids else (pair[0], pair[1])
                current = best_review.get(lead_id)
                if current is None or (-score, other) < (-current[0], current[1]):
                    best_review[lead_id] = (score, other)


def find_duplicates(leads: Sequence[Lead], *, settings: TenantSettings,
                    unique_emails: Collection[int] = ()) -> DedupeOutcome:
    """Decide, for saved and normalized leads, which are duplicates (of a lead in
    the database or of one another) and which only look like one. Reads one
    candidate query; writes nothing. Call ``lock_keys`` first when other writers
    may run at the same time (``dedupe_leads`` does).

    ``unique_emails``: ids of leads whose email key is stored as it is and whose
    stored status is a surviving one. The unique index
    lead_surviving_email_key_uniq then vouches that no other surviving lead, so no
    candidate, has that key, and it is not looked up (a probe per lead for
    nothing)."""
    chunk_ids = {lead.id for lead in leads}
    with timed("dedupe_candidates"):
        outside = _candidates(leads, unique_emails=unique_emails)
    everyone = {lead.id: lead for lead in outside}
    everyone.update({lead.id: lead for lead in leads})
    match_at, review_at = settings.fuzzy_match_threshold, settings.fuzzy_review_threshold

    groups = _Groups()
    best_review: dict[int, tuple[float, int]] = {}
    seen: set[tuple[int, int]] = set()
    for key, block in _blocks(everyone.values()).items():
        if len(block) < 2 or not any(l.id in chunk_ids for l in block):
            continue
        for sub in _split(block):
            _compare(sub, chunk_ids, seen, groups, best_review, match_at, review_at, by_name=key[0] == "n")

    members: dict[int, list[int]] = defaultdict(list)
    for lead_id in list(groups.parent):
        members[groups.find(lead_id)].append(lead_id)
    merged: list[tuple[Lead, Lead]] = []
    merged_ids: set[int] = set()
    for ids in members.values():
        if len(ids) < 2:
            continue
        saved = sorted(i for i in ids if i not in chunk_ids)
        survivor_id = saved[0] if saved else min(ids)
        for lead_id in sorted(ids):
            if lead_id in chunk_ids and lead_id != survivor_id:
                merged.append((everyone[lead_id], everyone[survivor_id]))
                merged_ids.add(lead_id)
    flagged = []
    for lead_id, (_, other_id) in sorted(best_review.items()):
        if lead_id in merged_ids:
            continue
        other = everyone[other_id]
        while other.pk in merged_ids:  # point at the survivor, not a lead merged just now
            other = next(s for d, s in merged if d.pk == other.pk)
        if other.pk != lead_id:
            flagged.append((everyone[lead_id], other))
    return DedupeOutcome(merged=merged, flagged=flagged)


# ------------------------------------------------------------------ merge/unmerge

def _snapshot(lead: Lead) -> dict:
    """Every column of the lead as JSON-safe text, microseconds included."""
    return {f.attname: f.value_to_string(lead) if getattr(lead, f.attname) is not None else None
            for f in Lead._meta.concrete_fields if not f.primary_key}


def _restore(snapshot: dict) -> dict:
    fields = {f.attname: f for f in Lead._meta.concrete_fields if not f.primary_key}
    return {name: (fields[name].to_python(value) if value is not None else None)
            for name, value in snapshot.items() if name in fields}


def _load_deferred(leads: Sequence[Lead]) -> None:
    """Read the fields some leads were loaded without (the pipeline leaves a few
    out), in one query: a snapshot holds every column."""
    missing = sorted(set().union(*(lead.get_deferred_fields() for lead in leads)))
    if not missing:
        return
    rows = {row["id"]: row for row in Lead.objects.filter(pk__in=[l.pk for l in leads]).values("id", *missing)}
    for lead in leads:
        for attname in lead.get_deferred_fields():
            setattr(lead, attname, rows[lead.pk][attname])


def _plan_merge(duplicate: Lead, survivor: Lead, *, actor: str, now) -> dict:
    filled, conflicts = {}, {}
    for field in SURVIVORSHIP_FIELDS:
        mine, theirs = getattr(survivor, field), getattr(duplicate, field)
        if not theirs:
            continue
        if not mine:
            filled[field] = theirs
            setattr(survivor, field, theirs)
        elif mine != theirs and field in CONTACT_FIELDS:
            conflicts[field] = {"survivor": mine, "duplicate": theirs}
    entry = {
        "action": "merged", "at": now.isoformat(), "actor": actor, "duplicate_id": duplicate.pk,
        "filled": filled, "conflicts": conflicts, "snapshot": _snapshot(duplicate),
    }
    survivor.merge_history = [*(survivor.merge_history or []), entry]
    return entry


def merge_leads(pairs: Sequence[tuple[Lead, Lead]], *, actor: str, write: bool = True) -> list:
    """Merge each (duplicate, survivor) pair: the survivor keeps its values, fills
    empty fields from the duplicate and records every conflicting value and a
    snapshot of the duplicate in ``merge_history``; the duplicate gets status
    ``duplicate`` and ``duplicate_of``. With ``write`` (default) saves both sides
    set-based (duplicates first: the unique email index only allows one surviving
    lead per email) and writes the audit events; otherwise returns the events
    for the caller to write with its own chunk."""
    from processing.bulk import EventRow, bulk_insert_values, bulk_update_values

    now = timezone.now()
    events = []
    survivors: dict[int, Lead] = {}
    _load_histories({s.pk: s for _, s in pairs}.values())
    _load_deferred([d for d, _ in pairs])
    for duplicate, survivor in pairs:
        survivor = survivors.setdefault(survivor.pk, survivor)
        entry = _plan_merge(duplicate, survivor, actor=actor, now=now)
        events.append(EventRow(lead_id=duplicate.pk, action="merged", actor=actor, created_at=now,
                               from_status=duplicate.status, to_status=LeadStatus.DUPLICATE,
                               changes={"duplicate_of": [None, survivor.pk]}))
        events.append(EventRow(lead_id=survivor.pk, action="merge_survivor", actor=actor, created_at=now,
                               changes={f: ["", v] for f, v in entry["filled"].items()},
                               note=f"merged lead {duplicate.pk}"))
        duplicate.status = LeadStatus.DUPLICATE
        duplicate.duplicate_of_id = survivor.pk
        duplicate.status_changed_at = now
    if write:
        with transaction.atomic():
            dups = [d for d, _ in pairs]
            bulk_update_values(Lead, dups, ["status", "duplicate_of", "status_changed_at"])
            bulk_update_values(Lead, list(survivors.values()), [*SURVIVORSHIP_FIELDS, "merge_history"])
            bulk_insert_values(AuditEvent, events)
    return events


def merge_into(*, duplicate: Lead, survivor: Lead, actor: str) -> Lead:
    """Merge one lead into another (see ``merge_leads``); returns the survivor."""
    if duplicate.pk == survivor.pk:
        raise ValueError("a lead cannot be merged into itself")
    if survivor.status in (LeadStatus.DUPLICATE, LeadStatus.ARCHIVED) or duplicate.status == LeadStatus.DUPLICATE:
        raise ValueError("only two surviving leads can be merged")
    with transaction.atomic():
        lock_keys(lead_lock_keys(duplicate) + lead_lock_keys(survivor))
        merge_leads([(duplicate, survivor)], actor=actor)
    return survivor


@transaction.atomic
def unmerge(*, lead: Lead, actor: str) -> Lead:
    """Restore a merged duplicate exactly as it was before the merge (from the
    snapshot in the survivor's history) and give back to the survivor the fields
    it had filled from it, unless they were edited since. A duplicate found at
    ingestion (nothing was merged into the survivor) becomes ``normalized``.
    Raises UnmergeError."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status != LeadStatus.DUPLICATE or lead.duplicate_of_id is None:
        raise UnmergeError(f"lead {lead.pk} is not a duplicate")
    survivor = Lead.objects.select_for_update().get(pk=lead.duplicate_of_id)
    history = list(survivor.merge_history or [])
    position = next((i for i in range(len(history) - 1, -1, -1)
                     if history[i].get("duplicate_id") == lead.pk and history[i].get("action") == "merged"), None)
    now = timezone.now()
    if position is None:
        restored_fields = {"status": LeadStatus.NORMALIZED, "duplicate_of": None, "status_changed_at": now}
    else:
        entry = history[position]
        given_back = {}
        for field, value in entry["filled"].items():
            if getattr(survivor, field) == value:
                given_back[field] = ""
                setattr(survivor, field, "")
        history[position] = {**{k: v for k, v in entry.items() if k != "snapshot"}, "action": "unmerged",
                             "unmerged_at": now.isoformat(), "unmerged_by": actor}
        Lead.objects.filter(pk=survivor.pk).update(merge_history=history, **given_back)
        restored_fields = _restore(entry["snapshot"])
    if restored_fields.get("email_key") and Lead.objects.filter(
            email_key=restored_fields["email_key"], status__in=SURVIVING_STATUSES).exclude(pk=lead.pk).exists():
        raise UnmergeError(f"lead {lead.pk} has the same email as a surviving lead; it cannot stand alone")
    Lead.objects.filter(pk=lead.pk).update(**restored_fields)
    AuditEvent.objects.create(lead_id=lead.pk, object_type="lead", object_id=str(lead.pk), action="unmerged", actor=actor,
                              from_status=LeadStatus.DUPLICATE, to_status=restored_fields["status"],
                              changes={"duplicate_of": [survivor.pk, None]})
    lead.refresh_from_db()
    return lead


def dedupe_leads(leads: Sequence[Lead], *, settings: TenantSettings, actor: str) -> tuple[list[Lead], list]:
    """The pipeline's dedupe stage over saved, normalized leads, inside the
    caller's transaction: locks the leads' keys, merges the duplicates (writing
    them and their survivors now, so the next chunk sees them) and sets
    ``possible_duplicate_of`` in memory on leads in the uncertain band. Returns the
    leads that were merged away and the audit events to write."""
    with timed("dedupe_locks"):
        lock_keys(k for lead in leads for k in lead_lock_keys(lead, fuzzy=True))
    # Another worker may have merged some of these while we waited for the locks.
    # (Almost every history is empty: sent as NULL, only the others are decoded.)
    with bound_cursor() as cursor:
        cursor.execute(f"SELECT id, status, email_key, NULLIF(merge_history, '[]'::jsonb)::text "
                       f'FROM "{Lead._meta.db_table}" WHERE id = ANY(%b)', [[l.pk for l in leads]], prepare=False)
        current = {pk: (status, orjson.loads(history) if history else [], email_key)
                   for pk, status, email_key, history in cursor.fetchall()}
    live = [l for l in leads if current.get(l.pk, ("",))[0] != LeadStatus.DUPLICATE]
    gone = [l for l in leads if current.get(l.pk, ("",))[0] == LeadStatus.DUPLICATE]
    for lead in live:
        if lead.pk in current and current[lead.pk][1] != (lead.merge_history or []):
            # Another worker merged a lead into this one: take its filled fields.
            lead.refresh_from_db(fields=["merge_history", *[f for f in SURVIVORSHIP_FIELDS if not getattr(lead, f)]])
    for lead in gone:
        lead.status = LeadStatus.DUPLICATE
    surviving = set(SURVIVING_STATUSES)
    unique_emails = {l.pk for l in live if l.pk in current and current[l.pk][0] in surviving
                     and current[l.pk][2] == l.email_key}
    with timed("dedupe_find"):
        outcome = find_duplicates(live, settings=settings, unique_emails=unique_emails)
    for lead, other in outcome.flagged:
        lead.possible_duplicate_of_id = other.pk
    outcome.merged = _materialize(outcome.merged)
    events = merge_leads(outcome.merged, actor=actor, write=False) if outcome.merged else []
    if outcome.merged:
        from processing.bulk import bulk_update_values

        chunk_ids = {l.pk for l in leads}
        dups = [d for d, _ in outcome.merged]
        bulk_update_values(Lead, dups, ["status", "duplicate_of", "status_changed_at"])
        survivors = {s.pk: s for _, s in outcome.merged}
        # Survivors in the chunk are written with the chunk; the others now.
        bulk_update_values(Lead, [s for pk, s in survivors.items() if pk not in chunk_ids],
                           [*SURVIVORSHIP_FIELDS, "merge_history"])
    return [d for d, _ in outcome.merged] + gone, events

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from leads.models import AuditEvent, Lead, LeadStatus
from processing.deduplication import (
    UnmergeError, dedupe_incoming, dedupe_leads, find_duplicates, match_score, merge_into, unmerge,
)
from tests.processing.conftest import keyed_lead

pytestmark = pytest.mark.django_db(transaction=False)


def _pairs(outcome):
    return sorted((d.pk, s.pk) for d, s in outcome.merged)


# ------------------------------------------------------------------ exact keys

def test_incoming_lead_with_known_email_is_a_duplicate_of_the_saved_lead(tenant_settings):
    saved = keyed_lead(email="ann@acme.com", first_name="Ann", last_name="Lee")
    incoming = keyed_lead(save=False, email="ann@acme.com", first_name="Ann", last_name="Lee")
    duplicates = dedupe_incoming([incoming], settings=tenant_settings)
    assert duplicates == [incoming]
    assert incoming.status == LeadStatus.DUPLICATE and incoming.duplicate_of == saved


def test_email_look_up_can_use_the_unique_index_of_surviving_leads(tenant_settings):
    """The email key has no index of its own: the look-up must name statuses that
    let PostgreSQL use lead_surviving_email_key_uniq (otherwise it scans the table)."""
    Lead.objects.bulk_create(Lead(email=f"p{i}@x.com", email_key=f"p{i}@x.com") for i in range(500))
    keyed_lead(email="ann@acme.com", first_name="Ann", last_name="Lee")
    incoming = keyed_lead(save=False, email="ann@acme.com", first_name="Ann", last_name="Lee")
    with CaptureQueriesContext(connection) as queries:
        dedupe_incoming([incoming], settings=tenant_settings)
    look_up = next(q["sql"] for q in queries if '"email_key" = ANY' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + look_up)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "lead_surviving_email_key_uniq" in plan


@pytest.mark.parametrize("key", [
    {"linkedin_key": "linkedin.com/in/ann-lee"},
    {"source": "crm", "external_id": "42"},
])
def test_other_exact_keys_find_the_saved_lead(tenant_settings, key):
    saved = keyed_lead(email="ann@acme.com", first_name="Ann", last_name="Lee", **key)
    incoming = keyed_lead(save=False, email="a.lee@other.com", first_name="Ann", last_name="Lee", **key)
    dedupe_incoming([incoming], settings=tenant_settings)
    assert incoming.duplicate_of == saved


def test_shared_phone_merges_same_person_but_not_a_colleague(tenant_settings):
    saved = keyed_lead(first_name="Robert", last_name="Stone", phone="+14155550100", company="Acme")
    same = keyed_lead(save=False, first_name="Bob", last_name="Stone", phone="+14155550100")
    colleague = keyed_lead(save=False, first_name="Maria", last_name="Gomez", phone="+14155550100", company="Acme")
    dedupe_incoming([same, colleague], settings=tenant_settings)
    assert same.duplicate_of == saved
    assert colleague.status == LeadStatus.NORMALIZED and colleague.duplicate_of is None


def test_in_batch_duplicates_keep_the_first_of_the_list(tenant_settings):
    first = keyed_lead(save=False, email="x@acme.com", first_name="X", last_name="Y")
    second = keyed_lead(save=False, email="x@acme.com", first_name="X", last_name="Y")
    third = keyed_lead(save=False, email="x@acme.com", first_name="X", last_name="Y")
    dedupe_incoming([first, second, third], settings=tenant_settings)
    assert first.status == LeadStatus.NORMALIZED
    assert second.duplicate_of is first and third.duplicate_of is first
    # Inserting survivors first lets Django fill duplicate_of_id.
    first.save()
    Lead.objects.bulk_create([second, third])
    assert set(Lead.objects.filter(duplicate_of=first).values_list("pk", flat=True)) == {second.pk, third.pk}


def test_unique_index_refuses_a_second_survivor_with_one_email(tenant_settings):
    keyed_lead(email="dup@acme.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        keyed_lead(email="dup@acme.com")


# ---------------------------------------------------------------------- fuzzy

@pytest.mark.parametrize("a, b", [
    (("Robert", "Stone"), ("Bob", "Stone")),
    (("William", "Hart"), ("Bill", "Hart")),
    (("Elizabeth", "Moss"), ("Liz", "Moss")),
    (("Jonathan", "Price"), ("Jonathon", "Price")),       # typo in first name
    (("Catherine", "Smith"), ("Catherine", "Smtih")),     # transposed letters
    (("John", "Walker"), ("J.", "Walker")),               # initial
])
def test_same_person_at_same_company_matches(tenant_settings, a, b):
    one = keyed_lead(first_name=a[0], last_name=a[1], company="Acme", email=f"{a[0]}@gmail.com".lower())
    two = keyed_lead(first_name=b[0], last_name=b[1], company="Acme Inc")
    score, _ = match_score(one, two)
    assert score >= tenant_settings.fuzzy_match_threshold
    assert _pairs(find_duplicates([one, two], settings=tenant_settings)) == [(two.pk, one.pk)]


@pytest.mark.parametrize("a, b, why", [
    (dict(first_name="Maria", last_name="Lopez", company="Acme", email="maria@acme.com"),
     dict(first_name="David", last_name="Chen", company="Acme", email="david@acme.com"), "colleagues"),
    (dict(first_name="Jane", last_name="Smith", company="Acme", email="jane.smith@acme.com"),
     dict(first_name="John", last_name="Smith", company="Acme", email="john.smith@acme.com"), "colleagues sharing a name"),
    (dict(first_name="John", last_name="Smith", company="Acme"),
     dict(first_name="John", last_name="Smith", company="Globex"), "namesakes at different companies"),
])
def test_hard_negatives_stay_separate(tenant_settings, a, b, why):
    one, two = keyed_lead(**a), keyed_lead(**b)
    outcome = find_duplicates([one, two], settings=tenant_settings)
    assert outcome.merged == [], why
    assert outcome.flagged == [], why


def test_company_only_leads_match_on_company_plus_contact_point(tenant_settings):
    one = keyed_lead(company="Initech", phone="+14155550111", street="1 Main St", postal_code="94105")
    two = keyed_lead(company="Initech Inc", street="1 Main Street", postal_code="94105")
    three = keyed_lead(company="Initech", domain="initech.com")
    outcome = find_duplicates([one, two, three], settings=tenant_settings)
    assert _pairs(outcome) == [(two.pk, one.pk)]
    # Same company name only: for a person to look at, not merged.
    assert [(l.pk, o.pk) for l, o in outcome.flagged] == [(three.pk, one.pk)]


def test_person_never_matches_a_company_only_lead(tenant_settings):
    one = keyed_lead(company="Initech", phone="+14155550111")
    two = keyed_lead(company="Initech", phone="+14155550111", first_name="Peter", last_name="Gibbons")
    assert find_duplicates([one, two], settings=tenant_settings).merged == []


def test_uncertain_band_sets_possible_duplicate_only(tenant_settings):
    # Same name, nothing to corroborate or contradict it.
    old = keyed_lead(first_name="Priya", last_name="Natarajan")
    new = keyed_lead(first_name="Priya", last_name="Natarajan")
    gone, _ = dedupe_leads([new], settings=tenant_settings, actor="test")
    assert gone == []
    assert new.possible_duplicate_of == old and new.status == LeadStatus.NORMALIZED


def test_thresholds_come_from_tenant_settings(tenant_settings):
    tenant_settings.fuzzy_match_threshold = 0.85
    old = keyed_lead(first_name="Priya", last_name="Natarajan")
    new = keyed_lead(first_name="Priya", last_name="Natarajan")
    assert _pairs(find_duplicates([new], settings=tenant_settings)) == [(new.pk, old.pk)]


def test_in_batch_resolution_is_deterministic(tenant_settings):
    leads = [keyed_lead(first_name=f, last_name="Stone", company="Acme") for f in ("Robert", "Bob", "Rob", "Bobby")]
    expected = [(l.pk, leads[0].pk) for l in leads[1:]]
    for order in (leads, list(reversed(leads)), leads[2:] + leads[:2]):
        assert _pairs(find_duplicates(order, settings=tenant_settings)) == expected


def test_lead_already_saved_outside_the_chunk_survives(tenant_settings):
    newer_first = keyed_lead(first_name="Bob", last_name="Stone", company="Acme")
    outside = keyed_lead(first_name="Robert", last_name="Stone", company="Acme", status=LeadStatus.APPROVED)
    outcome = find_duplicates([newer_first], settings=tenant_settings)
    assert _pairs(outcome) == [(newer_first.pk, outside.pk)]


# ---------------------------------------------------------------- merge/unmerge

def test_merge_fills_empty_fields_records_conflicts_and_unmerge_restores_exactly(tenant_settings):
    survivor = keyed_lead(first_name="Robert", last_name="Stone", company="Acme", email="rob@acme.com", title="CTO")
    duplicate = keyed_lead(first_name="Bob", last_name="Stone", company="Acme", phone="+14155550100",
                           title="Chief Technology Officer", city="Austin", custom_fields={"crm": 7})
    before = Lead.objects.filter(pk=duplicate.pk).values().get()
    merge_into(duplicate=duplicate, survivor=survivor, actor="user:ann")

    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.status == LeadStatus.DUPLICATE and duplicate.duplicate_of_id == survivor.pk
    assert survivor.phone == "+14155550100" and survivor.city == "Austin" and survivor.title == "CTO"
    entry = survivor.merge_history[-1]
    assert entry["duplicate_id"] == duplicate.pk and entry["actor"] == "user:ann"
    assert entry["conflicts"]["title"] == {"survivor": "CTO", "duplicate": "Chief Technology Officer"}
    assert entry["conflicts"]["first_name"] == {"survivor": "Robert", "duplicate": "Bob"}
    assert set(entry["filled"]) >= {"phone", "phone_key", "city"}
    assert AuditEvent.objects.filter(lead=duplicate, action="merged", to_status=LeadStatus.DUPLICATE).exists()

    unmerge(lead=duplicate, actor="user:ann")
    assert Lead.objects.filter(pk=duplicate.pk).values().get() == before
    survivor.refresh_from_db()
    assert survivor.phone == "" and survivor.city == "" and survivor.title == "CTO"
    assert survivor.merge_history[-1]["action"] == "unmerged"
    assert AuditEvent.objects.filter(lead=duplicate, action="unmerged").exists()


def test_unmerge_keeps_a_field_edited_since_the_merge(tenant_settings):
    survivor = keyed_lead(first_name="Robert", last_name="Stone", company="Acme")
    duplicate = keyed_lead(first_name="Bob", last_name="Stone", company="Acme", city="Austin")
    merge_into(duplicate=duplicate, survivor=survivor, actor="test")
    Lead.objects.filter(pk=survivor.pk).update(city="Dallas")
    unmerge(lead=duplicate, actor="test")
    survivor.refresh_from_db()
    assert survivor.city == "Dallas"


def test_unmerge_refuses_a_lead_that_is_not_a_duplicate(tenant_settings):
    with pytest.raises(UnmergeError):
        unmerge(lead=keyed_lead(first_name="A", last_name="B"), actor="test")


def test_unmerge_of_a_duplicate_found_at_ingestion_makes_it_normalized(tenant_settings):
    saved = keyed_lead(first_name="Ann", last_name="Lee", linkedin_key="in/ann")
    dup = keyed_lead(first_name="Ann", last_name="Lee", linkedin_key="in/ann", status=LeadStatus.DUPLICATE,
                     duplicate_of=saved)
    lead = unmerge(lead=dup, actor="test")
    assert lead.status == LeadStatus.NORMALIZED and lead.duplicate_of is None


def test_dedupe_stage_writes_merges_and_survivor(tenant_settings):
    outside = keyed_lead(first_name="Robert", last_name="Stone", company="Acme", status=LeadStatus.PENDING_REVIEW)
    lead = keyed_lead(first_name="Bob", last_name="Stone", company="Acme", phone="+14155550100")
    gone, events = dedupe_leads([lead], settings=tenant_settings, actor="pipeline")
    assert gone == [lead]
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.DUPLICATE
    outside.refresh_from_db()
    assert outside.phone == "+14155550100" and outside.status == LeadStatus.PENDING_REVIEW
    assert {e.action for e in events} == {"merged", "merge_survivor"}


def test_merge_into_refuses_a_survivor_that_is_itself_a_duplicate(tenant_settings):
    a, b = keyed_lead(first_name="A", last_name="B"), keyed_lead(first_name="C", last_name="D")
    b.status = LeadStatus.DUPLICATE
    with pytest.raises(ValueError):
        merge_into(duplicate=a, survivor=b, actor="test")


def test_another_tenants_leads_are_never_candidates(tenant_settings):
    from django_tenants.utils import schema_context

    with schema_context("tenant_b"):
        keyed_lead(email="shared@acme.com", first_name="Ann", last_name="Lee", company="Acme", phone="+14155550100")
    incoming = keyed_lead(save=False, email="shared@acme.com", first_name="Ann", last_name="Lee")
    assert dedupe_incoming([incoming], settings=tenant_settings) == []
    mine = keyed_lead(first_name="Ann", last_name="Lee", company="Acme", phone="+14155550100")
    outcome = find_duplicates([mine], settings=tenant_settings)
    assert outcome.merged == [] and outcome.flagged == []

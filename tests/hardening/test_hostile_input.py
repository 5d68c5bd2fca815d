"""Hostile and broken input on every way in: each gets a clear 4xx (in the one error shape, naming
the field) or is stored exactly and safely, and the leads accepted before are untouched."""
import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from leads.models import Lead, TenantSettings
from tests.factories import make_lead, make_user
from tests.leads.conftest import Api, make_api_key

pytestmark = pytest.mark.usefixtures("fresh_throttles")

NUL = "\x00"
LONE_SURROGATE_JSON = '"\\ud800"'  # valid JSON escape, not valid Unicode
RTL = "מרים בת־שבע"  # Hebrew, right-to-left
ARABIC = "مريم‏"  # with a right-to-left mark
EMOJI = "Zoë 👩🏽‍💻🚀"
LONG = "x" * 10_000


def snapshot() -> list[tuple]:
    """Every lead of tenant A with every column: compared before and after hostile requests."""
    with schema_context("tenant_a"):
        return list(Lead.objects.order_by("pk").values_list())


@pytest.fixture
def accepted(tenant_a):
    """Leads accepted before the hostile requests."""
    with schema_context("tenant_a"):
        return [make_lead(first_name="Ada", status="pending_review"), make_lead(first_name="Grace")]


@pytest.fixture
def admin_api(tenant_a):
    return Api("a.localhost", f"Api-Key {make_api_key('tenant_a', scopes=('read', 'write', 'admin'))}")


def raw_post(api: Api, path: str, body: bytes | str, content_type="application/json", method="post"):
    return getattr(api.client, method)(path, data=body, content_type=content_type, **api.headers)


def assert_error_shape(response, status: int, field: str | None = None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    for messages in body["errors"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    if field is not None:
        assert field in body["errors"], body
    return body


# --- batch endpoint --------------------------------------------------------------------------

BATCH = "/api/v1/leads/batch"


@pytest.mark.parametrize("body", [
    '{"source": "x", "leads": [',
    '{"source": "x", "leads": [{"email": "a@b.com",}]}',
    "\xff\xfe not json",
    "",
    "null",
    "[]",
    '"leads"',
    '{"source": "x", "leads": {"email": "a@b.com"}}',
    '{"source": 5, "leads": [{"email": "a@b.com"}]}',
    '{"source": "x", "leads": [' + ",".join(['{"email": "a@b.com"}'] * 1001) + "]}",
])
def test_malformed_batch_bodies_are_a_400_and_store_nothing(keyapi_a, accepted, body):
    before = snapshot()
    response = raw_post(keyapi_a, BATCH, body)
    assert_error_shape(response, 400)
    assert snapshot() == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/csv",
                                          "application/x-www-form-urlencoded"])
def test_batch_with_a_wrong_content_type_is_a_415(keyapi_a, accepted, content_type):
    before = snapshot()
    response = raw_post(keyapi_a, BATCH, '{"source": "x", "leads": [{"email": "a@b.com"}]}', content_type)
    assert_error_shape(response, 415)
    assert snapshot() == before


def test_a_body_over_the_size_limit_is_a_413(keyapi_a, accepted, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    before = snapshot()
    rows = [{"email": f"big{i}@example.com", "first_name": "y" * 200} for i in range(400)]
    response = raw_post(keyapi_a, BATCH, json.dumps({"source": "big", "leads": rows}))
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("row, field", [
    ({"email": f"nul{NUL}@example.com"}, "leads"),
    ({"email": "ok@example.com", "first_name": f"A{NUL}da"}, "leads"),
    ({"email": "ok@example.com", "favourite": f"tea{NUL}"}, "leads"),  # a custom field
    ({"email": "ok@example.com", f"key{NUL}": "x"}, "leads"),  # a custom field's name
])
def test_nul_bytes_in_a_batch_are_a_400_naming_the_field(keyapi_a, accepted, row, field):
    before = snapshot()
    response = keyapi_a.post(BATCH, {"source": "nul", "leads": [{"email": "fine@example.com"}, row]})
    body = assert_error_shape(response, 400, field)
    assert any(m.startswith("1.") and "NUL" in m for m in body["errors"][field]), body
    assert snapshot() == before


def test_nul_in_the_source_is_a_400_naming_source(keyapi_a, accepted):
    before = snapshot()
    body = assert_error_shape(keyapi_a.post(BATCH, {"source": f"s{NUL}", "leads": [{"email": "x@example.com"}]}),
                              400, "source")
    assert "NUL" in body["errors"]["source"][0]
    assert snapshot() == before


@pytest.mark.parametrize("row", [
    '{"email": "ok@example.com", "first_name": ' + LONE_SURROGATE_JSON + "}",
    '{"email": "ok@example.com", "notes": "a\\udfffb"}',
    '{"email": "ok@example.com", ' + LONE_SURROGATE_JSON + ': "x"}',
])
def test_lone_surrogates_in_a_batch_are_a_400(keyapi_a, accepted, row):
    before = snapshot()
    body = assert_error_shape(raw_post(keyapi_a, BATCH, '{"source": "s", "leads": [' + row + "]}"), 400, "leads")
    assert "surrogate" in body["errors"]["leads"][0]
    assert snapshot() == before


def test_ten_thousand_character_fields_are_refused_per_row_and_the_rest_stored(keyapi_a, accepted):
    before = snapshot()
    response = keyapi_a.post(BATCH, {"source": "long", "leads": [
        {"email": "long1@example.com", "first_name": LONG},
        {"email": f"{'a' * 10_000}@example.com"},
        {"email": "fine.long@example.com", "first_name": "Fine"},
    ]})
    assert response.status_code == 200, response.content[:300]
    rows = response.json()["rows"]
    assert [r["outcome"] for r in rows] == ["invalid", "invalid", "created"]
    assert "first_name" in rows[0]["errors"] and "email" in rows[1]["errors"]
    after = snapshot()
    assert after[:len(before)] == before and len(after) == len(before) + 1


def test_a_long_custom_field_value_is_stored_whole(keyapi_a, accepted):
    response = keyapi_a.post(BATCH, {"source": "long", "leads": [{"email": "notes@example.com", "notes": LONG}]})
    assert response.status_code == 200, response.content[:300]
    with schema_context("tenant_a"):
        lead = Lead.objects.get(email="notes@example.com")
        assert lead.custom_fields.get("notes") == LONG


def test_rtl_and_emoji_names_are_stored_and_read_back_exactly(keyapi_a, accepted):
    before = snapshot()
    response = keyapi_a.post(BATCH, {"source": "intl", "leads": [
        {"email": "rtl@example.com", "first_name": RTL, "last_name": ARABIC, "company": EMOJI}]})
    assert response.status_code == 200, response.content[:300]
    lead_id = response.json()["rows"][0]["id"]
    detail = keyapi_a.get(f"/api/v1/leads/{lead_id}").json()
    assert (detail["first_name"], detail["last_name"], detail["company"]) == (RTL, ARABIC, EMOJI)
    assert snapshot()[:len(before)] == before


# --- PATCH lead ------------------------------------------------------------------------------

@pytest.mark.parametrize("body, status, field", [
    ({"first_name": f"A{NUL}"}, 400, "first_name"),
    ({"title": LONG}, 400, "title"),
    ({"email": "not an email"}, 400, "email"),
    ({"status": "approved"}, 400, "status"),  # not editable here
])
def test_patch_lead_with_bad_values_is_a_field_level_400(keyapi_a, accepted, body, status, field):
    before = snapshot()
    assert_error_shape(keyapi_a.patch(f"/api/v1/leads/{accepted[0].pk}", body), status, field)
    assert snapshot() == before


@pytest.mark.parametrize("body, content_type, status", [
    ('{"first_name": ', "application/json", 400),
    ('{"first_name": ' + LONE_SURROGATE_JSON + "}", "application/json", 400),
    ("first_name=Eve", "text/plain", 415),
    ("<lead/>", "application/xml", 415),
])
def test_patch_lead_with_broken_bodies(keyapi_a, accepted, body, content_type, status):
    before = snapshot()
    assert_error_shape(raw_post(keyapi_a, f"/api/v1/leads/{accepted[0].pk}", body, content_type, method="patch"),
                       status)
    assert snapshot() == before


def test_patch_lead_stores_rtl_and_emoji_exactly(keyapi_a, accepted):
    response = keyapi_a.patch(f"/api/v1/leads/{accepted[0].pk}", {"first_name": RTL, "company": EMOJI})
    assert response.status_code == 200, response.content
    with schema_context("tenant_a"):
        lead = Lead.objects.get(pk=accepted[0].pk)
    assert (lead.first_name, lead.company) == (RTL, EMOJI)


# --- settings PATCH --------------------------------------------------------------------------

def _settings_row():
    with schema_context("tenant_a"):
        TenantSettings.current()  # the row exists before the first request
        return list(TenantSettings.objects.values_list())


@pytest.mark.parametrize("body, field", [
    ({"product_name": f"Lead{NUL}Hub"}, "product_name"),
    ({"product_name": LONG}, "product_name"),
    ({"scoring_weights": {f"w{NUL}": 3}}, "scoring_weights"),
    ({"scoring_weights": "heavy"}, "scoring_weights"),
    ({"primary_color": "red; background: url(x)"}, "primary_color"),
])
def test_settings_patch_refuses_hostile_values_by_field(admin_api, accepted, body, field):
    before = _settings_row()
    assert_error_shape(admin_api.patch("/api/v1/settings", body), 400, field)
    assert _settings_row() == before


@pytest.mark.parametrize("body, content_type, status", [
    ('{"product_name": ', "application/json", 400),
    ('{"product_name": ' + LONE_SURROGATE_JSON + "}", "application/json", 400),
    ("product_name=x", "text/plain", 415),
])
def test_settings_patch_with_broken_bodies(admin_api, accepted, body, content_type, status):
    before = _settings_row()
    assert_error_shape(raw_post(admin_api, "/api/v1/settings", body, content_type, method="patch"), status)
    assert _settings_row() == before


@pytest.mark.parametrize("path", ["/api/v1/settings", "/api/v1/users/{admin}"])
@pytest.mark.parametrize("body", ["0.0", "[]", '["product_name"]', '"x"', "null"])
def test_a_patch_body_that_is_not_an_object_is_a_400(admin_api, accepted, path, body):
    from django.contrib.auth import get_user_model

    with schema_context("tenant_a"):
        admin_id = get_user_model().objects.get(username="admin@a.test").pk
    before = _settings_row()
    response = raw_post(admin_api, path.format(admin=admin_id), body, method="patch")
    assert_error_shape(response, 400, "non_field_errors")
    assert _settings_row() == before


def test_a_form_with_too_many_fields_is_a_400_in_the_api_error_shape(keyapi_a, accepted, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
    body = "&".join(f"ids={i}" for i in range(101))
    response = raw_post(keyapi_a, "/api/v1/pipeline/process", body, "application/x-www-form-urlencoded")
    assert response["Content-Type"] == "application/json"
    assert "at most 100" in assert_error_shape(response, 400)["detail"]


def test_settings_patch_stores_an_emoji_product_name(admin_api, accepted):
    assert admin_api.patch("/api/v1/settings", {"product_name": EMOJI}).status_code == 200
    with schema_context("tenant_a"):
        assert TenantSettings.current().product_name == EMOJI


# --- CSV import ------------------------------------------------------------------------------

IMPORT = "/api/v1/leads/import"


def upload(api: Api, content: bytes, name="leads.csv"):
    return api.client.post(IMPORT, {"file": SimpleUploadedFile(name, content, "text/csv")}, **api.headers)


@pytest.mark.parametrize("content", [
    b"",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    b"email,first_name\n",  # a header and no rows
    b'email,first_name\n"unterminated@example.com,Ann\n',
    b"\x00\x00\x00",
])
def test_broken_csv_files_are_a_400_or_refused_rows_and_store_nothing(keyapi_a, accepted, content):
    before = snapshot()
    response = upload(keyapi_a, content)
    assert response.status_code in (400, 201), response.content[:300]
    if response.status_code == 400:
        assert_error_shape(response, 400, "file")
    else:
        assert response.json()["created_count"] == 0
    assert snapshot() == before


def test_nul_bytes_and_invalid_utf8_in_csv_cells_never_reach_the_database(keyapi_a, accepted):
    before = snapshot()
    content = (b"email,first_name,company\n"
               b"nul1@example.com,Ann\x00ie,Acme\n"
               b"surrogate@example.com,\xed\xa0\x80Bea,Beta\n"  # a UTF-8-encoded lone surrogate
               b"fine.csv@example.com,Cy,Gamma\n")
    response = upload(keyapi_a, content)
    assert response.status_code in (201, 400), response.content[:300]
    with schema_context("tenant_a"):
        stored = list(Lead.objects.exclude(pk__in=[row[0] for row in before]).values_list("first_name", "company"))
    with schema_context("tenant_a"):
        assert not Lead.objects.filter(email="nul1@example.com").exists()  # refused, with its reason
        assert Lead.objects.filter(email="fine.csv@example.com").exists()
    if response.status_code == 201:
        errors = keyapi_a.get(f"/api/v1/imports/{response.json()['id']}/errors.csv")
        assert b"NUL" in b"".join(errors.streaming_content) if errors.streaming else b"NUL" in errors.content
    for first_name, company in stored:
        assert NUL not in first_name and NUL not in company
        first_name.encode("utf-8")  # stored text is valid Unicode
    assert snapshot()[:len(before)] == before


def test_long_and_rtl_csv_cells(keyapi_a, accepted):
    content = ("email,first_name,last_name\n"
               f"long.csv@example.com,{LONG},X\n"
               f"rtl.csv@example.com,{RTL},{EMOJI}\n").encode()
    response = upload(keyapi_a, content)
    assert response.status_code == 201, response.content[:300]
    assert response.json()["created_count"] == 1 and response.json()["invalid_count"] == 1
    with schema_context("tenant_a"):
        lead = Lead.objects.get(email="rtl.csv@example.com")
        assert (lead.first_name, lead.last_name) == (RTL, EMOJI)
        assert not Lead.objects.filter(email="long.csv@example.com").exists()


def test_a_csv_upload_over_the_limit_is_a_413(keyapi_a, accepted, settings):
    settings.MAX_UPLOAD_SIZE = 16 * 1024
    before = snapshot()
    content = b"email\n" + b"".join(f"big{i}@example.com\n".encode() for i in range(2000))
    response = upload(keyapi_a, content)
    assert response.status_code == 413
    assert snapshot() == before


# --- CSV formula injection on export ---------------------------------------------------------

@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil.test\",\"x\")", "+SUM(1,2)", "-2+3", "@cmd",
                                   "\t=1", "=1+1"])
def test_formula_cells_are_neutralised_in_csv_exports(admin_api, tenant_a, settings, tmp_path, value):
    settings.MEDIA_ROOT = str(tmp_path)
    with schema_context("tenant_a"):
        make_lead(email="formula@example.com", first_name=value, company=value, status="approved")
    response = admin_api.post("/api/v1/exports", {"format": "instantly_csv", "destination": "formula"})
    assert response.status_code == 201, response.content[:300]
    download = admin_api.get(f"/api/v1/exports/{response.json()['id']}/download")
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r.get("email") == "formula@example.com"]
    assert rows, text[:300]
    for cell in rows[0].values():
        assert not cell or cell[0] not in "=+-@\t\r", rows[0]
    assert any(cell.endswith(value.lstrip("\t")) or cell.endswith(value) for cell in rows[0].values())


def test_plain_phone_numbers_are_not_mangled_by_the_formula_guard(admin_api, tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with schema_context("tenant_a"):
        make_lead(email="phone@example.com", phone="+14155550100", status="approved")
    response = admin_api.post("/api/v1/exports", {"format": "instantly_csv", "destination": "phones"})
    download = admin_api.get(f"/api/v1/exports/{response.json()['id']}/download")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "+14155550100" in text and "'+14155550100" not in text


# --- page forms ------------------------------------------------------------------------------

@pytest.fixture
def page_reviewer_a(tenant_a):
    with schema_context("tenant_a"):
        user = make_user("reviewer")
    client = Client(HTTP_HOST="a.localhost")
    with schema_context("tenant_a"):
        client.force_login(user)
    return client


@pytest.mark.parametrize("field, value", [
    ("first_name", f"A{NUL}da"),
    ("company", f"{NUL}"),
    ("title", LONG),
    ("email", "not an email"),
])
def test_inline_edit_refuses_hostile_values_and_changes_nothing(page_reviewer_a, accepted, field, value):
    before = snapshot()
    response = page_reviewer_a.post(f"/leads/{accepted[0].pk}/edit", {field: value})
    assert 400 <= response.status_code < 500, response.status_code
    assert snapshot() == before


def test_inline_edit_stores_rtl_and_emoji(page_reviewer_a, accepted):
    response = page_reviewer_a.post(f"/leads/{accepted[0].pk}/edit", {"first_name": RTL, "company": EMOJI})
    assert response.status_code in (200, 302)
    with schema_context("tenant_a"):
        lead = Lead.objects.get(pk=accepted[0].pk)
    assert (lead.first_name, lead.company) == (RTL, EMOJI)


@pytest.mark.parametrize("data", [
    {"email": f"admin@a.test{NUL}", "password": "pw-admin-123"},
    {"email": "admin@a.test", "password": f"pw{NUL}"},
    {"email": "x" * 10_000, "password": "y" * 10_000},
    {"email": EMOJI, "password": RTL},
    {},
])
def test_sign_in_with_hostile_input_is_a_4xx_not_a_session(tenant_a, settings, data):
    client = Client(HTTP_HOST="a.localhost")
    response = client.post("/login/", data)
    assert 400 <= response.status_code < 500, response.status_code
    assert "sessionid" not in response.cookies


def test_api_login_with_hostile_input_is_a_4xx(tenant_a):
    api = Api("a.localhost")
    for body in ({"email": f"admin@a.test{NUL}", "password": "pw-admin-123"}, {"email": "x" * 10_000, "password": "y"},
                 {"email": ["admin@a.test"], "password": {"x": 1}}):
        response = api.post("/api/v1/auth/login", body)
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert "access" not in response.json()


def test_nul_in_the_import_source_is_a_400_naming_source(keyapi_a, accepted):
    before = snapshot()
    response = keyapi_a.client.post(IMPORT, {"file": SimpleUploadedFile("x.csv", b"email\nsrc@example.com\n"),
                                             "source": f"crm{NUL}"}, **keyapi_a.headers)
    assert_error_shape(response, 400, "source")
    assert snapshot() == before


@pytest.mark.parametrize("value", ["0511-02-04T04:17:10-17:06", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                                   "2026-13-45T00:00:00Z", f"2026-01-01{NUL}"])
def test_odd_date_time_filters_are_a_400_or_answered(keyapi_a, accepted, value):
    """Found by the schema fuzzer: an offset PostgreSQL does not accept was a 500."""
    response = keyapi_a.get("/api/v1/leads", {"created_after": value})
    assert response.status_code in (200, 400), (value, response.status_code)
    if response.status_code == 400:
        assert_error_shape(response, 400, "created_after")

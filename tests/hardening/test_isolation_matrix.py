"""The isolation matrix: every route of a tenant host, every kind of tenant A's credentials and
ids, used on tenant B's host. Nothing is granted and no byte of A's data comes back.

The routes are found by walking ``leadhub.urls_tenants``, so a route added later is covered
without touching this file; path parameters get the ids of tenant A's real objects.
"""
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context
from PIL import Image, PngImagePlugin

from leads.models import Export, ImportBatch, ImportRowError, Lead, SuppressionEntry
from leads.services.apikeys import api_key_create
from leads.services.exports import export_create, export_start
from leads.services.settings import tenant_settings_update
from processing.models import PipelineJob
from tests.factories import make_lead, make_user
from tests.leads.conftest import Api, jwt_for

pytestmark = pytest.mark.usefixtures("fresh_throttles")

# Appears in every piece of tenant A's data made below (lead, batch, export file, logo, user...).
MARK = "zq7isolmarkA"
# Ids far above anything the suite creates, so tenant B has no row with them.
A_ID = 970001

# Routes anyone may call (sign-in, health, the schema, the public logo): with A's credentials B
# answers exactly as to an anonymous caller.
PUBLIC = {"healthz", "schema", "api-docs", "api-login", "api-refresh", "branding-logo", "signin", "signout",
          "admin:login", "admin:logout", "admin:jsi18n"}


# --- the routes ------------------------------------------------------------------------------

def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace + (pattern.name or ""), pattern.callback


def _methods(callback) -> list[str]:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is not None and hasattr(view, "http_method_names"):
        return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]
    return ["get", "post"]


def all_routes() -> list[tuple[str, str, list[str]]]:
    """(pattern, name, methods) for every route of a tenant host."""
    return [(route, name, _methods(cb)) for route, name, cb in _walk(get_resolver("leadhub.urls_tenants").url_patterns)]


def _value(route: str, param: str, ids: dict) -> str:
    if param in ("app_label",):
        return "leads"
    if param == "url":
        return "nowhere/"
    if param == "table":
        return "sources"
    if param == "prefix":
        return ids["key_prefix"]
    if param == "content_type_id":
        return str(ids["lead_ct"])
    if param == "duplicate_id":
        return str(ids["duplicate"])
    for part, key in (("imports/", "batch"), ("users/", "user"), ("exports/", "export"), ("suppressions/", "suppression"),
                      ("jobs/", "job"), ("auth/user/", "user"), ("leads/export/", "export"), ("leads/importbatch/", "batch"),
                      ("leads/suppressionentry/", "suppression"), ("processing/pipelinejob/", "job")):
        if part in route:
            return str(ids[key])
    return str(ids["lead"])


def build_path(route: str, ids: dict) -> str:
    """The concrete path of a route pattern (path converters or regex groups) with A's ids."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: _value(route, m.group(1), ids), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: _value(route, m.group(1), ids), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


# --- tenant A's data -------------------------------------------------------------------------

def _png_with_marker() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", MARK)
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture
def a_data(tenant_a, tenant_b, settings, tmp_path):
    """Tenant A's objects, each carrying MARK, and their ids (none of which exist in B)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    from django.contrib.contenttypes.models import ContentType

    with schema_context("tenant_a"):
        user = get_user_model().objects.create_user(pk=A_ID, username=f"{MARK}@a-only.test", email=f"{MARK}@a-only.test",
                                                    password="pw-user-123")
        user.groups.add(Group.objects.get_or_create(name="admin")[0])
        lead = make_lead(pk=A_ID, email=f"{MARK}@a-only.test", first_name=MARK, status="pending_review")
        make_lead(pk=A_ID + 2, email=f"{MARK}.exported@a-only.test", first_name=MARK, status="approved")
        duplicate = make_lead(pk=A_ID + 1, email=f"{MARK}.dup@a-only.test", first_name=MARK, status="duplicate",
                              duplicate_of=lead)
        batch = ImportBatch.objects.create(pk=A_ID, source=MARK, filename=f"{MARK}.csv")
        ImportRowError.objects.create(batch=batch, row_number=2, raw={"email": MARK}, errors={"email": [MARK]})
        suppression = SuppressionEntry.objects.create(pk=A_ID, kind="email", value=f"{MARK}@supp.test", reason=MARK)
        job = PipelineJob.objects.create(pk=A_ID, actor=MARK)
        export = export_create(format="instantly_csv", destination=MARK)
        export_start(export=export, background=False)
        export.refresh_from_db()
        assert export.file and MARK.encode() in export.file.open("rb").read()
        key, _clear = api_key_create(name=MARK, scopes=["read", "write", "admin"])
        tenant_settings_update(values={"logo": SimpleUploadedFile("logo.png", _png_with_marker(), "image/png"),
                                       "product_name": MARK})
        ids = {"lead": A_ID, "duplicate": A_ID + 1, "batch": A_ID, "user": A_ID, "suppression": A_ID, "job": A_ID,
               "export": export.pk, "key_prefix": key.prefix, "lead_ct": ContentType.objects.get_for_model(Lead).pk}
    with schema_context("tenant_b"):
        # B's own rows that happen to share an id would blur "not found" with "found B's row".
        Export.objects.filter(pk=export.pk).delete()
        assert not Lead.objects.filter(pk__in=[A_ID, A_ID + 1]).exists()
    return ids


# --- the callers -----------------------------------------------------------------------------

def _a_session_cookie_on_b() -> Client:
    client = Client(HTTP_HOST="a.localhost")
    with schema_context("tenant_a"):
        client.force_login(make_user("admin"))
    replay = Client(HTTP_HOST="b.localhost")
    replay.cookies = client.cookies
    return replay


def _key_of_a() -> str:
    with schema_context("tenant_a"):
        return api_key_create(name="matrix", scopes=["read", "write", "admin"])[1]


def caller(kind: str) -> Api:
    if kind == "a_jwt":
        return Api("b.localhost", f"Bearer {jwt_for('tenant_a', 'admin@a.test', 'pw-admin-123')['access']}")
    if kind == "a_api_key":
        return Api("b.localhost", f"Api-Key {_key_of_a()}")
    if kind == "a_session":
        api = Api("b.localhost")
        api.client = _a_session_cookie_on_b()
        return api
    if kind == "b_admin_session":
        api = Api("b.localhost")
        with schema_context("tenant_b"):
            api.client.force_login(make_user("admin"))
        return api
    if kind == "b_jwt":
        return Api("b.localhost", f"Bearer {jwt_for('tenant_b', 'admin@b.test', 'pw-admin-123')['access']}")
    raise ValueError(kind)


def send(api: Api, method: str, path: str):
    body = {} if method in ("post", "put", "patch") else None
    return getattr(api.client, method)(path, **({"data": body, "content_type": "application/json"} if body is not None else {}),
                                       **api.headers)


def _content(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _refused(response) -> bool:
    # 405: the method itself is refused before any credential or id is looked at (no body).
    if response.status_code in (401, 403, 404) or (response.status_code == 405 and not _content(response)):
        return True
    location = response.get("Location", "")
    return response.status_code == 302 and ("/login/" in location)


def _sweep(api: Api, ids: dict, only_ids: bool, methods_filter=None):
    for route, name, methods in all_routes():
        # Parameters that name no object (the analytics table, the app label) are B's own pages.
        if only_ids and not re.search(r"<(?:int:|str:|path:)?\w*(id|pk|prefix)>", route):
            continue
        path = build_path(route, ids)
        for method in methods:
            if methods_filter and method not in methods_filter:
                continue
            yield route, name, method, path, send(api, method, path)


@pytest.mark.parametrize("kind", ["a_jwt", "a_api_key", "a_session"])
def test_credentials_of_a_get_nothing_on_b_on_any_route(a_data, kind):
    api = caller(kind)
    anonymous = Api("b.localhost")
    with schema_context("tenant_b"):
        leads_before = Lead.objects.count()
    failures, checked = [], 0
    for route, name, method, path, response in _sweep(api, a_data, only_ids=False):
        checked += 1
        body = _content(response)
        if MARK.encode() in body:
            failures.append(f"{method.upper()} {path}: A's data in the answer")
        if name in PUBLIC:
            expected = send(anonymous, method, path).status_code
            if response.status_code != expected and not _refused(response):
                failures.append(f"{method.upper()} {path}: {response.status_code}, anonymous gets {expected}")
        elif not _refused(response):
            failures.append(f"{method.upper()} {path}: {response.status_code} {body[:120]!r}")
    assert checked > 150, checked  # the walk really found the whole URL map (admin included)
    assert not failures, "\n".join(failures)
    with schema_context("tenant_b"):
        assert Lead.objects.count() == leads_before


@pytest.mark.parametrize("kind", ["b_jwt", "b_admin_session"])
def test_ids_of_a_with_b_credentials_are_not_found(a_data, kind):
    """B's own admin, asking for A's ids on B's host: not found, never A's row."""
    api = caller(kind)
    failures = []
    for route, name, method, path, response in _sweep(api, a_data, only_ids=True):
        body = _content(response)
        if MARK.encode() in body:
            failures.append(f"{method.upper()} {path}: A's data in the answer")
        admin_missing = route.startswith("admin/") and response.status_code == 302  # admin: "doesn't exist" redirect
        method_refused = response.status_code == 405 and not body
        if response.status_code != 404 and not admin_missing and not method_refused and name not in PUBLIC:
            if not (kind == "b_jwt" and route.startswith(("admin/", "leads/", "analytics/"))):  # pages ignore JWT
                failures.append(f"{method.upper()} {path}: {response.status_code} {body[:120]!r}")
    assert not failures, "\n".join(failures)
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=A_ID).status == "pending_review"
        assert SuppressionEntry.objects.filter(pk=A_ID).exists()
        assert PipelineJob.objects.filter(pk=A_ID).exists()
        assert get_user_model().objects.filter(pk=A_ID, is_active=True).exists()


def test_every_list_and_page_of_b_is_free_of_a_data(a_data):
    """B's admin reads every route of B (lists, pages, admin, status, schema): nothing of A."""
    failures = []
    for kind in ("b_jwt", "b_admin_session"):
        for route, name, method, path, response in _sweep(caller(kind), a_data, only_ids=False, methods_filter={"get"}):
            assert response.status_code < 500, (path, response.status_code)
            if MARK.encode() in _content(response):
                failures.append(f"{kind} GET {path}")
    assert not failures, "\n".join(failures)


def test_a_sees_its_own_data_with_the_same_routes(a_data):
    """The refusals above are about the tenant: the same calls on A's host return A's data."""
    api = Api("a.localhost", f"Bearer {jwt_for('tenant_a', 'admin@a.test', 'pw-admin-123')['access']}")
    assert MARK in api.get(f"/api/v1/leads/{A_ID}").content.decode()
    download = api.get(f"/api/v1/exports/{a_data['export']}/download")
    assert download.status_code == 200 and MARK.encode() in _content(download)
    logo = Client(HTTP_HOST="a.localhost").get("/branding/logo")
    assert logo.status_code == 200 and MARK.encode() in _content(logo)
    # The session cookie replayed on B (above) is a live one on A's own host.
    own = _a_session_cookie_on_b()
    own.defaults["HTTP_HOST"] = "a.localhost"
    assert own.get("/").status_code == 200
    assert MARK.encode() in _content(Api("a.localhost", f"Api-Key {_key_of_a()}").get(f"/api/v1/leads/{A_ID}"))


def test_the_route_walk_substitutes_every_parameter(a_data):
    for route, _name, _methods_ in all_routes():
        path = build_path(route, a_data)
        assert "<" not in path and "(?P" not in path, path


# --- cache, files, tasks ---------------------------------------------------------------------

def test_a_value_cached_under_a_is_not_readable_under_b(tenant_a, tenant_b):
    with schema_context("tenant_a"):
        cache.set("isolation-probe", MARK, 60)
        assert cache.get("isolation-probe") == MARK
    with schema_context("tenant_b"):
        assert cache.get("isolation-probe") is None
        cache.set("isolation-probe", "b-value", 60)
    with schema_context("tenant_a"):
        assert cache.get("isolation-probe") == MARK
        cache.delete("isolation-probe")
    with schema_context("tenant_b"):
        cache.delete("isolation-probe")


def test_files_of_a_are_stored_under_a_and_not_served_by_b(a_data, settings):
    with schema_context("tenant_a"):
        export = Export.objects.get(pk=a_data["export"])
        from leads.models import TenantSettings
        logo_name = TenantSettings.current().logo.name
    assert export.file.name.startswith("tenant_a/") and logo_name.startswith("tenant_a/")
    b = Client(HTTP_HOST="b.localhost")
    # Media is never served from a URL; guessing the stored path on B's host finds nothing.
    for path in (f"/media/{export.file.name}", f"/media/{logo_name}", f"/{export.file.name}", f"/{logo_name}"):
        response = b.get(path)
        assert response.status_code == 404 and MARK.encode() not in _content(response), path
    assert MARK.encode() not in _content(b.get("/branding/logo"))


def test_a_task_for_schema_a_never_touches_b(a_data):
    from processing.tasks import process_chunk

    with schema_context("tenant_a"):
        fresh = make_lead(email=f"task.{MARK}@a-only.test", first_name=MARK)
    with schema_context("tenant_b"):
        b_lead = make_lead(pk=fresh.pk + 50_000)
        b_before = list(Lead.objects.order_by("pk").values_list("pk", "status", "updated_at"))
    # Called from public, as a worker would be; B holds a lead whose id is in the chunk too.
    process_chunk("tenant_a", [fresh.pk, b_lead.pk])
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=fresh.pk).status != "new"
    with schema_context("tenant_b"):
        assert list(Lead.objects.order_by("pk").values_list("pk", "status", "updated_at")) == b_before


@pytest.mark.parametrize("task, args", [
    ("processing.tasks.process_chunk", lambda: ("tenant_zz", [A_ID])),
    ("processing.tasks.process_chunk", lambda: ("public", [A_ID])),
    ("leads.exports.tasks.export_run_task", lambda: ("tenant_zz", 1)),
    ("leads.exports.tasks.export_run_task", lambda: ("public", 1)),
])
def test_a_task_for_an_unknown_schema_fails(tenant_a, task, args):
    from django.utils.module_loading import import_string

    from processing.batch import UnknownTenant

    with pytest.raises(UnknownTenant):
        import_string(task)(*args())


def test_an_export_task_for_a_runs_in_a_only(a_data):
    from leads.exports.tasks import export_run_task

    with schema_context("tenant_a"):
        export = export_create(format="instantly_csv", destination=f"{MARK}-2", force=True)
    with schema_context("tenant_b"):
        b_exports = Export.objects.count()
    assert export_run_task("tenant_a", export.pk)["status"] == "done"
    with schema_context("tenant_b"):
        assert Export.objects.count() == b_exports

"""Logo upload: validated (type, size), stored per tenant, served only by its own tenant's host."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django_tenants.utils import schema_context

from leads.models import AuditEvent, TenantSettings
from tests.leads.settings_support import as_role, media_root, people_a, png_bytes  # noqa: F401

URL = "/api/v1/settings/logo"


def send(client, content, name="logo.png", content_type="image/png"):
    """PUT the bytes as the multipart field 'logo' (the test client only encodes POST bodies)."""
    body = encode_multipart(BOUNDARY, {"logo": SimpleUploadedFile(name, content, content_type=content_type)})
    return client.put(URL, body, content_type=MULTIPART_CONTENT)


def test_admin_uploads_a_logo_stored_under_the_tenant_folder(as_role, media_root, client_a):
    response = send(as_role("admin"), png_bytes())
    assert response.status_code == 200, response.content
    assert response.json()["logo_url"].startswith("/branding/logo")
    with schema_context("tenant_a"):
        name = TenantSettings.current().logo.name
        assert name.startswith("tenant_a/branding/logo-")
        assert (media_root / name).exists()
        event = AuditEvent.objects.get(action="settings_changed")
        assert event.changes == {"logo": ["", name]}
    served = client_a.get("/branding/logo")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png_bytes()


def test_jpeg_is_served_as_jpeg(as_role, media_root, client_a):
    send(as_role("admin"), png_bytes(fmt="JPEG"), name="logo.jpg", content_type="image/jpeg")
    assert client_a.get("/branding/logo")["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("content, name, fragment", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.svg", "SVG is not accepted"),
    (b"%PDF-1.4 not an image", "logo.png", "PNG, JPEG, GIF or WebP"),
    (png_bytes(fmt="BMP"), "logo.bmp", "BMP images are not accepted"),
    (png_bytes(fmt="PNG")[:40], "logo.png", "PNG, JPEG, GIF or WebP"),
])
def test_non_images_and_unsupported_types_are_refused(as_role, media_root, content, name, fragment):
    response = send(as_role("admin"), content, name=name)
    assert response.status_code == 400
    assert fragment in " ".join(response.json()["errors"]["logo"])
    with schema_context("tenant_a"):
        assert not TenantSettings.current().logo
    assert not any(media_root.rglob("*.*")) if media_root.exists() else True


def test_too_large_logo_is_refused(as_role, media_root, settings):
    small = png_bytes()
    settings.BRANDING_LOGO_MAX_BYTES = len(small)
    big = png_bytes(size=(64, 64), color=(9, 9, 9))
    assert len(big) > len(small)
    response = send(as_role("admin"), big)
    assert response.status_code == 400, response.content
    assert f"the limit is {len(small)} bytes" in response.json()["errors"]["logo"][0]
    assert send(as_role("admin"), small).status_code == 200


def test_replacing_the_logo_deletes_the_old_file(as_role, media_root, django_capture_on_commit_callbacks):
    client = as_role("admin")
    send(client, png_bytes(color=(1, 1, 1)))
    with schema_context("tenant_a"):
        first = TenantSettings.current().logo.name
    with django_capture_on_commit_callbacks(execute=True):
        send(client, png_bytes(color=(2, 2, 2)))
    with schema_context("tenant_a"):
        second = TenantSettings.current().logo.name
    assert first != second
    assert (media_root / second).exists()
    assert not (media_root / first).exists()


def test_tenant_b_cannot_fetch_a_logo(as_role, media_root, client_b):
    send(as_role("admin"), png_bytes())
    # B's host serves B's own (absent) logo: A's file cannot be named from there.
    assert client_b.get("/branding/logo").status_code == 404
    with schema_context("tenant_a"):
        name = TenantSettings.current().logo.name
    for path in (f"/media/{name}", f"/branding/logo?path={name}", f"/branding/logo/{name}"):
        response = client_b.get(path)
        assert response.status_code == 404
        assert png_bytes() not in (response.content if not response.streaming else b"")


def test_a_row_pointing_outside_its_folder_is_not_served(as_role, media_root, client_b):
    send(as_role("admin"), png_bytes())
    with schema_context("tenant_a"):
        name = TenantSettings.current().logo.name
    with schema_context("tenant_b"):
        TenantSettings.objects.filter(pk=TenantSettings.current().pk).update(logo=name)
    assert client_b.get("/branding/logo").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_admins_change_the_logo(as_role, media_root, role):
    assert send(as_role(role), png_bytes()).status_code == 403


def test_delete_removes_the_logo(as_role, media_root, client_a):
    client = as_role("admin")
    send(client, png_bytes())
    assert client.delete(URL).status_code == 204
    assert client_a.get("/branding/logo").status_code == 404


def test_logo_url_is_what_pages_load(as_role, media_root, client_a):
    """The review pages read TenantSettings.logo_url; it must serve this tenant's file."""
    send(as_role("admin"), png_bytes())
    with schema_context("tenant_a"):
        url = TenantSettings.current().logo_url
    assert url.startswith("/branding/logo?v=")
    response = client_a.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()

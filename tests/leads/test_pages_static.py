"""The vendored assets are served in production (DEBUG off, behind gunicorn) by WhiteNoise."""
from django.core.management import call_command
from django.test import Client


def test_collected_vendor_files_are_served_without_debug(tenant_a, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client(HTTP_HOST="a.localhost")  # a new handler: WhiteNoise indexes STATIC_ROOT now
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/chart-4.6.1.umd.min.js",
                 "/static/leads/review.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "javascript" in response["Content-Type"]
        response.close()

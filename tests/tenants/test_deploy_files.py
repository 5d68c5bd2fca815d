"""The deploy files are checked here because no Docker engine runs on these machines."""
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())


def test_compose_has_the_services_with_healthchecks():
    services = compose()["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_compose_commands():
    services = compose()["services"]
    assert services["web"]["command"][0] == "gunicorn"
    assert "leadhub.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"][-1] == "qcluster"
    assert "migrate_schemas" in " ".join(services["migrate"]["command"])
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")


def test_dockerfile_runs_as_non_root_on_slim_image():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "\nUSER leadhub" in text


def _settings_probe(extra_env: dict, expr: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "LEADHUB_TESTING")}
    env.update({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "DJANGO_SETTINGS_MODULE": "leadhub.settings"})
    env.update(extra_env)
    code = f"import django; from django.conf import settings; print({expr})"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_secret_key_required_when_debug_is_off():
    proc = _settings_probe({}, "settings.SECRET_KEY")
    assert proc.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in proc.stderr


def test_production_mode_has_secure_cookies_and_hsts():
    proc = _settings_probe(
        {"SECRET_KEY": "x" * 50},
        "settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS > 0",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True", "True"]


def test_debug_mode_starts_without_secret_key():
    proc = _settings_probe({"DEBUG": "true"}, "settings.DEBUG")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"

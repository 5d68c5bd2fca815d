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


def test_prometheus_scrapes_web_metrics_with_the_operator_token():
    services = compose()["services"]
    prom = services["prometheus"]
    assert prom["image"].startswith("prom/prometheus:")
    assert "./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prom["volumes"]
    assert "metrics_token" in prom["secrets"]
    assert compose()["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    config = yaml.safe_load((ROOT / "docker" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "leadhub")
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_token"}
    env = services["web"]["environment"]
    # The host Prometheus scrapes must be one the web service serves (public schema).
    assert "web" in env["ALLOWED_HOSTS"] and "web" in env["PUBLIC_DOMAINS"]
    assert "METRICS_TOKEN" in env
    assert "ensure_public_tenant" in " ".join(services["migrate"]["command"])


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard():
    import json

    grafana = compose()["services"]["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"] if v.startswith("./")}
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    base = ROOT / "docker" / "grafana"
    source = yaml.safe_load((base / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((base / "provisioning" / "dashboards" / "leadhub.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == mounts["./grafana/dashboards"]
    dashboard = json.loads((base / "dashboards" / "leadhub-processing.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"]
        assert all(t["expr"] for t in panel["targets"])

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def healthz(request):
    """200 when the database and the cache answer, 503 naming the failing part."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "down"
        logger.warning("health: database check failed: %s", exc)
        checks["database"] = "error"
    try:
        cache.set("healthz", "ok", 10)
        checks["cache"] = "ok" if cache.get("healthz") == "ok" else "error"
        if checks["cache"] == "ok" and getattr(cache, "degraded", False):
            # Redis is down and the database cache stands in: working, but say so.
            checks["cache"] = "degraded"
    except Exception as exc:
        logger.warning("health: cache check failed: %s", exc)
        checks["cache"] = "error"
    failing = [name for name, state in checks.items() if state == "error"]
    body = {
        "status": "error" if failing else ("degraded" if "degraded" in checks.values() else "ok"),
        "tenant": connection.schema_name,
        "checks": checks,
    }
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


def unknown_host(request):
    host = request.get_host().split(":")[0]
    return render(request, "404_host.html", {"host": host}, status=404)


def public_home(request):
    return render(request, "public_home.html")


def not_found(request, exception=None):
    """404 of a tenant host: the API's JSON error shape under /api/ (an id that is not a
    number, an unknown route), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "errors": {}, "code": "not_found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    """500 of a tenant host: JSON under /api/ so API clients always get the one error shape."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error.", "errors": {}, "code": "server_error"}, status=500)
    from django.views.defaults import server_error as page_server_error

    return page_server_error(request)

from django.http import JsonResponse
from django.shortcuts import render
from django_tenants.utils import get_public_schema_name

SUSPENDED_MESSAGE = "This workspace is suspended. Contact your LeadHub operator to reactivate it."
# Load balancers and monitors keep probing a suspended tenant's host.
ALWAYS_OPEN = ("/healthz",)


class SuspendedTenantMiddleware:
    """Answers 403 for every request to a suspended tenant's host (after TenantMainMiddleware,
    which loads the tenant row fresh on each request, so reactivation takes effect at once).

    API keys, JWTs and sessions all stop here, before any authentication runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and not tenant.is_active
            and tenant.schema_name != get_public_schema_name()
            and request.path not in ALWAYS_OPEN
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": SUSPENDED_MESSAGE, "errors": {}}, status=403)
            return render(request, "suspended.html", {"message": SUSPENDED_MESSAGE, "tenant": tenant}, status=403)
        return self.get_response(request)

"""Roles: admin (everything in the tenant), reviewer (review, edit, export), viewer (read only).

A role is a Django group of the tenant's schema. The same checks serve the API,
the pages and admin.
"""
from rest_framework.permissions import SAFE_METHODS, BasePermission

ROLES = ("admin", "reviewer", "viewer")
ROLE_RANK = {"viewer": 1, "reviewer": 2, "admin": 3}


def user_role(user) -> str | None:
    """The user's strongest role, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return "admin"
    cached = getattr(user, "_leadhub_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in ("admin", "reviewer", "viewer") if r in names), None)
    user._leadhub_role = role
    return role


def has_role(user, minimum: str) -> bool:
    role = user_role(user)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def request_api_key(request):
    """The ApiKey that authenticated this request, or None for a person."""
    auth = getattr(request, "auth", None)
    return auth if auth is not None and getattr(auth, "is_api_key", False) else None


class _RolePermission(BasePermission):
    minimum = "viewer"
    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        # API keys carry scopes instead of roles (see the API key authentication).
        api_key = request_api_key(request)
        if api_key is not None:
            scopes = api_key.scope_list()
            if self.minimum == "admin":
                # Settings, users and keys: a key needs the explicit admin scope.
                return "admin" in scopes
            return "read" in scopes if request.method in SAFE_METHODS else "write" in scopes
        return has_role(request.user, self.minimum)


class IsViewer(_RolePermission):
    """Reads for every role; writes for reviewers and admins."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        self.minimum = "reviewer"
        return super().has_permission(request, view)


class IsReviewer(_RolePermission):
    minimum = "reviewer"


class IsTenantAdmin(_RolePermission):
    minimum = "admin"

"""How API callers prove who they are: people with a JWT, machines with an API key.

A JWT carries the schema of the tenant that issued it and is refused on any other
tenant's host, even where a user with the same id exists. An API key is looked up
in the current tenant's schema only, so another tenant's key is simply unknown.
"""
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from leads.models import ApiKey

SCHEMA_CLAIM = "schema"
# last_used_at is a hint for admins, not an audit trail: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def check_token_schema(token: Token) -> None:
    if token.get(SCHEMA_CLAIM) != connection.schema_name:
        raise exceptions.AuthenticationFailed("This token was not issued for this tenant.", code="wrong_tenant")


class TenantJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, bound to the tenant that issued the token."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = super().get_validated_token(raw_token)
        check_token_schema(token)
        return token


class ApiKeyPrincipal:
    """Stands in for ``request.user`` when a machine calls with an API key.

    It is authenticated but has no role: permissions look at the key's scopes
    (``request.auth``) instead.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None
    _leadhub_role = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def get_username(self) -> str:
        return f"api_key:{self.api_key.prefix}"

    def __str__(self):
        return self.get_username()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>`` against the tenant's hashed, revocable keys."""

    keyword = "Api-Key"
    key_parser = KeyParser()

    def authenticate(self, request):
        key = self.key_parser.get(request)
        if key is None:
            return None
        try:
            api_key = ApiKey.objects.get_from_key(key.strip())
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.", code="expired_api_key")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


# Describes the classes above in the OpenAPI schema (registers drf-spectacular extensions).
from leads.api import schema as _schema  # noqa: E402,F401

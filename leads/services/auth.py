"""Signing people in to the API with JWTs that belong to one tenant."""
from django.contrib.auth import authenticate, get_user_model
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from leads.api.authentication import SCHEMA_CLAIM


def user_authenticate_by_email(*, email: str, password: str, request=None):
    """The active user of the current tenant with this email and password, or None.

    Known and unknown emails cost the same: Django's backend hashes the password
    even when no user matches.
    """
    email = email.strip()
    User = get_user_model()
    username = (
        User.objects.filter(email__iexact=email).order_by("pk").values_list(User.USERNAME_FIELD, flat=True).first()
        or email.lower()
    )
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    return user


def tokens_for_user(user) -> dict[str, str]:
    """An access and a refresh token, both carrying the current tenant's schema name."""
    refresh = RefreshToken.for_user(user)
    refresh[SCHEMA_CLAIM] = connection.schema_name
    return {"access": str(refresh.access_token), "refresh": str(refresh)}

"""A tenant's people and their roles. A role is one Django group of the tenant's schema;
the admin role also makes the user staff (Django admin of its own schema, nothing else)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from leads.permissions import ROLES, user_role
from leads.services.audit import actor_label, audit_event

User = get_user_model()


class LastAdminError(Exception):
    """The change would leave the tenant without an active admin."""


def _person(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _apply_role(user, role: str) -> None:
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.set([group])
    # Admins get Django admin of their own schema; staff-only pages stay closed to the others.
    user.is_staff = user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])
    user._leadhub_role = role


def _active_admin_ids() -> set[int]:
    return set(
        User.objects.filter(is_active=True).filter(groups__name="admin").values_list("pk", flat=True)
    ) | set(User.objects.filter(is_active=True, is_superuser=True).values_list("pk", flat=True))


@transaction.atomic
def user_create(*, email: str, role: str, password: str, first_name: str = "", last_name: str = "",
                actor_user=None, api_key=None):
    """Create a tenant user (username = email, lower-cased) with one role. Audited as
    ``user_created``. Raises ValidationError (field -> messages)."""
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["enter a valid email address"]
    else:
        if User.objects.filter(username=email).exists():
            errors["email"] = ["a user with this email already exists"]
    if role not in ROLES:
        errors["role"] = [f"must be one of {', '.join(ROLES)}"]
    try:
        validate_password(password, User(username=email, email=email))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(username=email, email=email, password=password,
                                    first_name=first_name, last_name=last_name)
    _apply_role(user, role)
    audit_event(action="user_created", actor=actor_label(user=actor_user, api_key=api_key), object_type="user",
                object_id=str(user.pk), user=_person(actor_user),
                changes={"email": [None, email], "role": [None, role], "is_active": [None, True]})
    return user


@transaction.atomic
def user_update(*, user, role: str | None = None, is_active: bool | None = None, first_name: str | None = None,
                last_name: str | None = None, actor_user=None, api_key=None):
    """Change a user's role, active flag or name; records ``{field: [before, after]}`` as
    ``user_changed``. Raises ValidationError for an unknown role, LastAdminError when the
    tenant would be left without an active admin."""
    if role is not None and role not in ROLES:
        raise ValidationError({"role": [f"must be one of {', '.join(ROLES)}"]})
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"role": user_role(user), "is_active": user.is_active, "first_name": user.first_name,
              "last_name": user.last_name}
    loses_admin = before["role"] == "admin" and before["is_active"] and (
        (role is not None and role != "admin") or is_active is False)
    if loses_admin and _active_admin_ids() - {user.pk} == set():
        raise LastAdminError("this is the tenant's last active admin; make another user admin first")
    if role is not None and role != before["role"]:
        _apply_role(user, role)
    fields = []
    for name, value in (("is_active", is_active), ("first_name", first_name), ("last_name", last_name)):
        if value is not None and getattr(user, name) != value:
            setattr(user, name, value)
            fields.append(name)
    if fields:
        user.save(update_fields=fields)
    after = {"role": user_role(user), "is_active": user.is_active, "first_name": user.first_name,
             "last_name": user.last_name}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit_event(action="user_changed", actor=actor_label(user=actor_user, api_key=api_key), object_type="user",
                    object_id=str(user.pk), user=_person(actor_user), changes=changes)
    return user


def user_deactivate(*, user, actor_user=None, api_key=None):
    """Deactivate (never delete: the audit trail keeps pointing at the person)."""
    return user_update(user=user, is_active=False, actor_user=actor_user, api_key=api_key)

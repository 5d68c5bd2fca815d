"""Small factories for tests. Call them inside a tenant schema (see the in_tenant_* fixtures)."""
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from leads.models import Lead, LeadStatus

_seq = itertools.count(1)


def make_user(role: str = "reviewer", email: str | None = None, password: str = "pw-user-123"):
    """A tenant user with one role (admin, reviewer or viewer)."""
    email = email or f"{role}{next(_seq)}@example.test"
    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


def make_lead(**fields) -> Lead:
    """A saved lead; unspecified contact fields get unique, plausible values."""
    n = next(_seq)
    defaults = {
        "email": f"person{n}@company{n}.com",
        "first_name": "Pat",
        "last_name": f"Person{n}",
        "company": f"Company {n}",
        "source": "test",
        "status": LeadStatus.NEW,
    }
    defaults.update(fields)
    defaults.setdefault("raw", {k: v for k, v in defaults.items() if isinstance(v, str)})
    return Lead.objects.create(**defaults)


def make_leads(count: int, **fields) -> list[Lead]:
    return [make_lead(**fields) for _ in range(count)]

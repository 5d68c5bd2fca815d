"""The hardening suite reuses the API fixtures of tests/leads (callers of tenant A and B)."""
from tests.leads.conftest import fresh_throttles, key_a, keyapi_a  # noqa: F401

"""Rate limits and sign-in lockouts count by the client's address, also behind a proxy."""
import pytest
from django.test import Client

from tests.leads.conftest import Api

pytestmark = pytest.mark.usefixtures("fresh_throttles")
LOGIN = "/api/v1/auth/login"


def _api_login(api: Api, forwarded: str, email: str = "x@a.test") -> int:
    return api.post(LOGIN, {"email": email, "password": "bad"}, headers={"HTTP_X_FORWARDED_FOR": forwarded}).status_code


def _page_sign_in(client: Client, forwarded: str) -> int:
    return client.post("/login/", {"email": "admin@a.test", "password": "bad"},
                       HTTP_X_FORWARDED_FOR=forwarded).status_code


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_login_limit(tenant_a, settings):
    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "login": "3/min"}
    api = Api("a.localhost")
    codes = [_api_login(api, f"198.51.100.{i}", email=f"x{i}@a.test") for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_sign_in_lockout(client_a):
    codes = [_page_sign_in(client_a, f"198.51.100.{i}") for i in range(6)]
    assert codes == [400] * 5 + [429]


def test_behind_a_proxy_each_client_has_its_own_login_limit(tenant_a, settings):
    settings.TRUSTED_PROXIES = 1
    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "login": "3/min"}
    api = Api("a.localhost")  # every request comes from the proxy's address (127.0.0.1)
    assert [_api_login(api, "203.0.113.7", email=f"a{i}@a.test") for i in range(4)] == [401, 401, 401, 429]
    assert _api_login(api, "203.0.113.8") == 401  # another client behind the same proxy
    # What the client wrote itself stands left of what the proxy appended: it changes nothing.
    assert _api_login(api, "10.9.9.9, 203.0.113.7", email="b@a.test") == 429


def test_behind_a_proxy_one_client_does_not_lock_everyone_out_of_sign_in(client_a, settings):
    settings.TRUSTED_PROXIES = 1
    assert [_page_sign_in(client_a, "203.0.113.7") for _ in range(6)] == [400] * 5 + [429]
    assert _page_sign_in(client_a, "203.0.113.8") == 400  # refused for the password, not locked out
    assert _page_sign_in(client_a, "10.0.0.1, 203.0.113.7") == 429
    response = client_a.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123"},
                             HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 302

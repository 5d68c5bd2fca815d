"""Who sent a request: the address that rate limits and sign-in lockouts count by."""
from django.conf import settings


def client_ip(request) -> str:
    """The client's address.

    Directly exposed (``TRUSTED_PROXIES`` = 0) it is REMOTE_ADDR, and X-Forwarded-For
    is ignored: the client writes that header itself. Behind n reverse proxies, each
    appends the address it received the request from, so the n-th entry from the right
    is the one the outermost proxy saw; entries further left are the client's own words.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if hops else ""
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if not addresses:
        return remote
    return addresses[-min(hops, len(addresses))]

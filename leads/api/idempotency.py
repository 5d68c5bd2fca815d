"""``Idempotency-Key``: a retried request gets the first answer back, stored nothing twice.

The first answer is saved in the same transaction as the writes it reports, and an
advisory lock makes a concurrent retry wait for the first attempt to finish.
"""
import hashlib
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.response import Response

from leads.api.errors import error_response
from leads.models import IdempotentRequest

HEADER = "Idempotency-Key"
# How long a first answer is kept for replay (retries come within minutes, not days).
RETENTION = timedelta(hours=24)


def principal_of(request) -> str:
    auth = getattr(request, "auth", None)
    if getattr(auth, "is_api_key", False):
        # The prefix, not the pk: an ApiKey's pk holds its hash and overflows the principal column.
        return f"api_key:{auth.prefix}"
    return f"user:{request.user.pk}"


def run_idempotent(request, handler) -> Response:
    """Call ``handler()`` once per (caller, Idempotency-Key); replay its answer after."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return handler()
    if len(key) > 255:
        return error_response("Invalid Idempotency-Key header.",
                              {HEADER: ["Ensure this value has at most 255 characters."]})
    digest = hashlib.sha256(request._request.body).hexdigest()
    principal = principal_of(request)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"idem:{principal}:{key}"])
        IdempotentRequest.objects.filter(principal=principal, created_at__lt=timezone.now() - RETENTION).delete()
        previous = IdempotentRequest.objects.filter(principal=principal, key=key).first()
        if previous is not None:
            if previous.request_hash != digest or previous.path != request.path:
                return error_response(
                    "This Idempotency-Key was already used for a different request.",
                    {HEADER: ["Use a new key for a new request."]}, status_code=422,
                )
            response = Response(previous.body, status=previous.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        response = handler()
        if response.status_code < 500:
            IdempotentRequest.objects.create(
                key=key, principal=principal, method=request.method, path=request.path[:255],
                request_hash=digest, status_code=response.status_code, body=response.data,
            )
        return response

"""The one API error shape: ``{"detail": "...", "errors": {field: [messages]}}``.

DRF's own exceptions and LeadHub's domain exceptions are turned into HTTP here, in
one place, so every endpoint answers errors the same way.
"""
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from leads.services.ingest import QuotaExceeded
from leads.services.review import ReviewConflict


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class QuotaError(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "quota_exceeded"


def _messages(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(_messages(item) if isinstance(item, (list, tuple)) else [str(item)])
        return out
    if isinstance(value, dict):
        return [f"{k}: {'; '.join(_messages(v))}" for k, v in value.items()]
    return [str(value)]


def error_body(detail: str, errors: dict | None = None, **extra) -> dict:
    """The error shape. Nested errors (a list field's per-item messages, a nested serializer's
    fields) are flattened to ``field: ["item: message", ...]`` so ``errors`` is always
    ``{field: [messages]}``, as documented."""
    flat = {str(field): _messages(messages) for field, messages in (errors or {}).items()}
    return {"detail": str(detail), "errors": flat, **extra}


def exception_handler(exc, context):
    if isinstance(exc, ReviewConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, QuotaExceeded):
        exc = QuotaError(str(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, TooManyFieldsSent):
        # Django's form parser refuses this (and too many files) before any view code
        # runs; unhandled it became Django's HTML "Bad Request" page, not the API's shape.
        exc = exceptions.ParseError(
            f"The form has too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are read.")
    elif isinstance(exc, TooManyFilesSent):
        exc = exceptions.ParseError(
            f"The form has too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} are read.")
    elif isinstance(exc, DjangoValidationError):
        # A service's model-level validation ({field: [messages]}): a 400 like DRF's own.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict):
            errors = {str(k): _messages(v) for k, v in data.items()}
        else:
            errors = {"non_field_errors": _messages(data)}
        fields = ", ".join(k for k in errors if k != "non_field_errors")
        detail = f"Invalid input: {fields}." if fields else "Invalid input."
        if list(errors) == ["non_field_errors"] and len(errors["non_field_errors"]) == 1:
            detail = errors["non_field_errors"][0]
        response.data = error_body(detail, errors)
    elif isinstance(data, dict) and "detail" in data:
        extra = {k: v for k, v in data.items() if k not in ("detail", "errors")}
        response.data = error_body(data["detail"], data.get("errors"), **extra)
    else:
        response.data = error_body(getattr(exc, "detail", "Error."), {"non_field_errors": _messages(data)})
    code = getattr(exc, "default_code", None)
    if isinstance(getattr(exc, "detail", None), exceptions.ErrorDetail):
        code = exc.detail.code
    if code and "code" not in response.data:
        response.data["code"] = code
    return response


def error_response(detail: str, errors: dict | None = None, status_code: int = 400, **extra) -> Response:
    return Response(error_body(detail, errors, **extra), status=status_code)

"""Tells drf-spectacular how LeadHub's authentication classes and shared answers appear in the schema."""
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class TenantJWTScheme(OpenApiAuthenticationExtension):
    target_class = "leads.api.authentication.TenantJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="AUTHORIZATION", token_prefix="Bearer",
                                                   bearer_format="JWT")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "leads.api.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`, created with `manage.py create_api_key`"}


# Answers any operation can give, whatever its view documents: the error handler, the
# authentication and permission classes, the throttles and the body-size middleware apply to
# every route. Listing them keeps the schema honest for clients (and for the schema fuzzer).
_COMMON_ERRORS = {
    "400": "Invalid input; `errors` holds the messages per field.",
    "401": "Missing or invalid credentials, or credentials of another tenant.",
    "403": "The caller's role or API key scope does not allow this.",
    "429": "Too many requests; retry after the `Retry-After` header.",
}
_BODY_ERRORS = {
    "413": "The body is larger than the limit (MAX_BODY_MB, MAX_UPLOAD_MB for uploads).",
    "415": "Unsupported content type.",
}
_NOT_FOUND = {"404": "No such object in this tenant (or a page past the end of the list)."}


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the shared error answers (in the one error
    shape, component ``Error``) to every operation that does not document them itself."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = dict(_COMMON_ERRORS)
            if "requestBody" in operation:
                codes.update(_BODY_ERRORS)
            if "{" in path or any(p.get("name") == "page" for p in operation.get("parameters", [])):
                codes.update(_NOT_FOUND)
            for code, description in codes.items():
                operation["responses"].setdefault(code, {**error, "description": description})
    return result


def paginated(serializer_class, name: str):
    """The schema of a PageNumberPagination answer around ``serializer_class`` items, for views
    that paginate by hand (drf-spectacular only wraps generic list views itself)."""
    return inline_serializer(name, {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    })

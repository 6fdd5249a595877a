"""What the published OpenAPI schema says beyond each view's own serializers: the error envelope
every operation can answer with, and how to authenticate."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_STATUSES = {
    "400": _("The request was malformed or a field was wrong (see error.fields)."),
    "401": _("Sign in first: send Authorization: Bearer <token>."),
    "403": _("Signed in, but this needs a permission you do not hold."),
    "404": _("No such object, or not one you may see."),
    "405": _("This method is not allowed here."),
    "406": _("The requested API version or format is not served."),
    "409": _("Not now: the object's state does not allow it (see error.code)."),
    "429": _("Too many requests; retry after error.retry_after seconds."),
    "503": _("The service is briefly unavailable; retry after the Retry-After header."),
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {
                    "type": "array", "items": {"type": "string"}}},
                "retry_after": {"type": "integer"},
            },
        },
    },
}


def add_error_envelope(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: the Error component, and every operation's error answers."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": str(description), "content": reference})
    return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": str(_("A token from POST /api/user/login."))}

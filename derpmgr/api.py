"""The API's envelope: {"success": true, ...} or {"success": false, "error": {...}}."""

import logging
from collections.abc import Mapping

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from derpmgr import unavailable
from derpmgr.errors import RateLimited, ServiceError

logger = logging.getLogger(__name__)


class FormInvalid(ServiceError):
    code = "invalid"


def ok(data: dict | None = None, *, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"success": True, **(data or {})}, status=status_code)


def error_body(code: str, message, fields: dict | None = None, **extra) -> dict:
    error = {"code": code, "message": str(message), **extra}
    if fields:  # present when particular fields were wrong
        error["fields"] = fields
    return {"success": False, "error": error}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _messages(detail) -> list[str]:
    """Every message in `detail`, flat (a list item's or a nested field's errors come nested)."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


def _field_errors(detail) -> dict:
    if not isinstance(detail, dict):
        return {}
    return {name: _messages(msgs) for name, msgs in detail.items()}


def exception_handler(exc, context):
    if (response := unavailable.response_for(context["request"], exc)) is not None:
        return response  # the database or Redis is down or too slow: 503 + Retry-After
    if isinstance(exc, RateLimited):
        response = Response(error_body(exc.code, exc.message, retry_after=exc.retry_after),
                            status=exc.status)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), _field_errors(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        message = _first_message(exc.detail) if exc.detail else exc.default_detail
        body = error_body(exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code,
                          message)
    else:  # pragma: no cover - DRF only handles APIException (Http404 and PermissionDenied are mapped)
        body = error_body("error", str(exc))
    response.data = body
    return response


@csrf_exempt  # no state changes here; a POST deserves the JSON 404, not the CSRF page
def json_not_found(request, exception=None, **kwargs):
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


def json_server_error(request):
    return JsonResponse(error_body("server_error", _("Something went wrong on our side.")), status=500)


def server_error(request):
    """handler500: API callers get the envelope, browsers the branded page."""
    from derpmgr.error_pages import server_error_page

    if request.path_info.startswith("/api/"):
        return json_server_error(request)
    return server_error_page(request)


def bad_request_json(message) -> JsonResponse:
    return JsonResponse(error_body("bad_request", message), status=400)


def validated(serializer_class, request, *, partial: bool = False, **context) -> dict:
    """The request body checked by `serializer_class` (the same class the schema publishes):
    its validated_data, or a 400 in the envelope naming the fields that were wrong."""
    if not isinstance(request.data, Mapping):
        raise exceptions.ParseError(_("Send a JSON object."))
    serializer = serializer_class(data=request.data, partial=partial,
                                  context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_query(serializer_class, request, **context) -> dict:
    """The query string checked by `serializer_class` (publish it with
    extend_schema(parameters=[serializer_class])): its validated_data, or a 400 in the envelope
    naming the parameters that were wrong. Parameters it does not name (page, page_size) pass."""
    serializer = serializer_class(data=request.query_params,
                                  context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def filter_form(form_class, request, **kwargs) -> forms.Form:
    """Query-string filters checked by the form the page uses too (bound and valid, ready to
    apply), or a 400 naming the parameters that were wrong (never silently ignored). A form whose
    field names differ from the parameters' (`from_` for ?from=) maps them in `field_errors()`."""
    form = form_class(request.query_params, **kwargs)
    if not form.is_valid():
        if hasattr(form, "field_errors"):
            fields = form.field_errors()
        else:
            fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        raise FormInvalid(next(iter(fields.values()))[0], fields=fields)
    return form


_QUERY_TYPES = [(forms.DateTimeField, OpenApiTypes.DATETIME), (forms.DateField, OpenApiTypes.DATE),
                (forms.ModelChoiceField, OpenApiTypes.INT), (forms.IntegerField, OpenApiTypes.INT)]


def query_parameters(form_class) -> list[OpenApiParameter]:
    """The fields of a filter form, published as the query parameters they are (type, choices)."""
    parameters = []
    for name, field in form_class.base_fields.items():
        kind = next((t for cls, t in _QUERY_TYPES if isinstance(field, cls)), OpenApiTypes.STR)
        choices = None
        if type(field) is forms.ChoiceField:
            choices = [value for value, _label in field.choices if value]
        parameters.append(OpenApiParameter(name, kind, enum=choices,
                                           description=field.help_text or field.label or ""))
    return parameters


def envelope(name: str, **fields) -> serializers.Serializer:
    """A success answer for the schema: `{"success": true, **fields}` as component `name`."""
    return inline_serializer(name, fields={"success": serializers.BooleanField(default=True),
                                           **fields})


def _whole_number(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


class EnvelopePagination(PageNumberPagination):
    """Pages of results in the envelope. A malformed page or page_size is a 400, not ignored:
    a client asking for page_size=abc would otherwise get 50 rows and believe it got what it
    asked for."""

    page_size_query_param = "page_size"
    max_page_size = 500
    # The seed's name for the rows, given alongside "results" (e.g. "logs"); None for none.
    results_also_as: str | None = None

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        size = _whole_number(raw)
        if not size:
            message = _("page_size must be a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
            raise FormInvalid(message, fields={self.page_size_query_param: [message]})
        return min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "")
        if raw not in ("", *self.last_page_strings) and _whole_number(raw) is None:
            message = _("page must be a whole number.")
            raise FormInvalid(message, fields={self.page_query_param: [message]})
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        alias = {self.results_also_as: data} if self.results_also_as else {}
        return Response({"success": True, "count": self.page.paginator.count,
                         "page": self.page.number, "pages": self.page.paginator.num_pages,
                         "next": self.get_next_link(), "previous": self.get_previous_link(),
                         "results": data, **alias})

    def get_paginated_response_schema(self, schema):
        wrapped = super().get_paginated_response_schema(schema)
        wrapped["properties"]["success"] = {"type": "boolean", "example": True}
        wrapped["properties"]["page"] = {"type": "integer", "example": 1}
        wrapped["properties"]["pages"] = {"type": "integer", "example": 1}
        wrapped["required"] = ["success", *wrapped.get("required", []), "page", "pages"]
        if self.results_also_as:
            wrapped["properties"][self.results_also_as] = wrapped["properties"]["results"]
            wrapped["required"].append(self.results_also_as)
        return wrapped


def paginated_as(key: str) -> type[EnvelopePagination]:
    """EnvelopePagination that also gives the rows under the seed's name `key`."""
    return type(f"EnvelopePagination_{key}", (EnvelopePagination,), {"results_also_as": key})


def allowed(*actions: str) -> type[BasePermission]:
    """A DRF permission class for views that need every one of `actions` (permission labels or
    the policy's role gates): the policy's refusal (404 outside the staff, 403 for staff lacking
    the grant); anonymous callers get 401."""

    class Allowed(BasePermission):
        def has_permission(self, request, view):
            from apps.accounts import policy

            if not request.user.is_authenticated:
                return False  # 401: sign in first
            for action in actions:
                policy.require(request.user, action)
            return True

    Allowed.__name__ = f"Allowed[{','.join(actions)}]"
    return Allowed


def allowed_any(*actions: str) -> type[BasePermission]:
    """Like `allowed`, for views open to whoever may do one of `actions` (a distributor's own
    codes, or staff holding the permission)."""

    class AllowedAny(BasePermission):
        def has_permission(self, request, view):
            from apps.accounts import policy

            if not request.user.is_authenticated:
                return False
            policy.require_any(request.user, *actions)
            return True

    AllowedAny.__name__ = f"AllowedAny[{','.join(actions)}]"
    return AllowedAny


# Admins and super admins; anyone else is told nothing exists here.
IsStaffRole = allowed("role.staff")

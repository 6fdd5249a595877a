"""Refuse requests whose path or query carries control characters, before anything reads them.

A NUL byte reaches PostgreSQL as a query parameter and fails there (a 500 for `/acl/feed/%00.json`
or an admin filter); other control characters in a URL are never legitimate either. Checking once
here keeps every view, filter and converter from having to.
"""

import re
from urllib.parse import unquote_to_bytes

from django.utils.translation import gettext as _
from django.views import defaults as default_views

from derpmgr.api import bad_request_json

# C0 controls and DEL. In the query, tab, newline and carriage return are allowed: a search box
# or a textarea sent by GET may carry them.
_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
_IN_QUERY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(path: str, query_string: str) -> bool:
    if _IN_PATH.search(path):
        return True
    return bool(query_string) and bool(_IN_QUERY.search(unquote_to_bytes(query_string.replace("+", " "))))


class ControlCharacterGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_control_characters(request.path_info, request.META.get("QUERY_STRING", "")):
            message = _("The address contains control characters.")
            if request.path_info.startswith("/api/"):
                return bad_request_json(message)
            return default_views.bad_request(request, exception=None)
        return self.get_response(request)

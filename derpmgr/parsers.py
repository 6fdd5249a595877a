"""The API's one JSON parser: bounded in size and depth, every decode problem a 400.

Python's json module recurses once per nesting level, so `[[[[…]]]]` a few thousand deep raises
RecursionError (a 500) and a body of any size is read whole. Here the body is read up to
API_MAX_BODY_BYTES, its nesting is measured by a flat scan before decoding, and anything that
cannot become a JSON value of reasonable shape is a ParseError — the envelope's 400.
"""

import codecs
import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without recursion. Brackets
    inside strings do not count; the text need not be valid JSON (the decoder judges that)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        if not raw.strip():
            raise ParseError(_("Send a JSON body."))
        if nesting_depth(raw) > settings.API_MAX_JSON_DEPTH:
            raise ParseError(_("The JSON is nested deeper than %(depth)d levels.")
                             % {"depth": settings.API_MAX_JSON_DEPTH})
        try:
            text = codecs.decode(raw, encoding)
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(_("The body is not valid JSON.")) from exc


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")

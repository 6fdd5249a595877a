"""URL converters that match only what the project issues, so anything else is a plain 404 before
a view or the database sees it."""

from django.urls import register_converter


class UrlSafeToken:
    """secrets.token_urlsafe output (feed and admission tokens): base64url, bounded length."""

    regex = r"[A-Za-z0-9_-]{16,128}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class SignedToken(UrlSafeToken):
    """django.core.signing output (e-mail verification links): base64url, ':' and '.'."""

    regex = r"[A-Za-z0-9_\-:.]{16,512}"


class OrderNumber(UrlSafeToken):
    """billing.models.new_order_number: YYYYMMDD-XXXXXXXX (bounded; case kept for the lookup)."""

    regex = r"[0-9A-Za-z-]{1,24}"


register_converter(UrlSafeToken, "urltoken")
register_converter(SignedToken, "signed")
register_converter(OrderNumber, "order")

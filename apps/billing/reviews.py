"""The review step of a page purchase: what the buyer saw, signed, carried to the confirmation.

The review page signs what it showed (what is bought and the total) together with a fresh
request key; the confirmation buys exactly that — never what the form says then — for that total
only (billing.services.PriceChanged otherwise), and once only (the key, kept on the order,
turns a second sending into the first one's order).
"""

import secrets

from django.core import signing
from django.utils.translation import gettext as _

from derpmgr.errors import ServiceError

SALT = "billing.review"
MAX_AGE = 30 * 60  # seconds a review stays confirmable


class ReviewExpired(ServiceError):
    code = "review_expired"


def sign(*, buyer, kind: str, total_fen: int, **reviewed) -> str:
    """The token a review page's Confirm button sends back."""
    return signing.dumps({"buyer": buyer.pk, "kind": kind, "total_fen": total_fen,
                          "key": secrets.token_urlsafe(16), **reviewed}, salt=SALT, compress=True)


def read(token: str, *, buyer, kind: str) -> dict:
    """What was reviewed, or ReviewExpired when the token is stale, forged or someone else's."""
    try:
        reviewed = signing.loads(token or "", salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        reviewed = None
    if not isinstance(reviewed, dict) or reviewed.get("buyer") != buyer.pk \
            or reviewed.get("kind") != kind:
        raise ReviewExpired(_("This review has expired or is not valid. Nothing was charged; "
                              "review the purchase again."))
    return reviewed

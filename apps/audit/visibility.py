"""Which events a principal may read: those about objects they may see, finance only for those
who may see finance.

An event names its object by `target_type` (a model label) and `target_id`; the object's own
`visible_to(viewer)` decides (the one visibility rule, style.md 3). An event whose object is gone
stays with those who saw every object of its kind. Finance (top-ups, balances, commissions,
order and batch amounts, plan prices) is marked when the event is written (`is_finance`) and
shown to those holding billing.view_finance (apps/billing/finance_views.py asks the same).
"""

from django.apps import apps
from django.db.models import CharField, Q
from django.db.models.functions import Cast

FINANCE_PERMISSION = "billing.view_finance"
# Every action of these apps is about money; elsewhere an amount in fen ("amount_fen",
# "balance_after_fen") makes an event finance.
FINANCE_APPS = frozenset({"billing"})
_MONEY_SUFFIX = "_fen"


def is_finance(action: str, details) -> bool:
    return action.partition(".")[0] in FINANCE_APPS or _mentions_money(details)


def _mentions_money(value) -> bool:
    if isinstance(value, dict):
        return any(str(k).endswith(_MONEY_SUFFIX) or _mentions_money(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions_money(v) for v in value)
    return False


def may_see_finance(viewer) -> bool:
    from apps.accounts import policy  # accounts sits above the audit log

    return policy.can(viewer, FINANCE_PERMISSION)


def _models_with_visibility(exclude):
    return [model for model in apps.get_models()
            if model is not exclude and hasattr(model._default_manager, "visible_to")]


def hidden_targets(viewer, *, event_model) -> Q:
    """Events naming an object `viewer` may not see (a Q to exclude)."""
    hidden = Q(pk__in=[])
    for model in _models_with_visibility(event_model):
        visible = model._default_manager.visible_to(viewer)
        if not visible.query.where and not visible.query.is_empty():
            continue  # every row of this kind: nothing to hide
        of_kind = Q(target_type=model._meta.label_lower)
        if visible.query.is_empty():
            hidden |= of_kind
            continue
        ids = visible.order_by().annotate(_text_pk=Cast("pk", CharField())).values("_text_pk")
        hidden |= of_kind & ~Q(target_id__in=ids)
    return hidden

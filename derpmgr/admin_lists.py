"""Admin lists whose cost does not grow with the table: the admin site puts
BoundedChangeListMixin in front of every ModelAdmin (admin_site.DerpAdminSite.register).

- No second count of the whole table beside a filtered one (show_full_result_count off).
- The whole, unfiltered list of a large PostgreSQL table shows the planner's estimate of its
  size (kept by ANALYZE and autovacuum) instead of counting every row for the pager; a filtered,
  searched or restricted list is counted exactly (it is what the person asked about).
- The date hierarchy offers every year, month or day between the first and the last row in the
  list (the field's smallest and largest value: two index lookups), not the distinct dates of
  every row (a scan of the table).
"""

import datetime
import functools
from pathlib import Path

from django import template
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ESTIMATE_ABOVE = 10_000  # rows: smaller tables are counted exactly

register = template.Library()


class EstimatedCountPaginator(Paginator):
    """The planner's row estimate for the whole of a large PostgreSQL table; else a count."""

    @functools.cached_property
    def count(self):
        estimate = _table_estimate(self.object_list)
        return estimate if estimate is not None and estimate > ESTIMATE_ABOVE else super().count


def _table_estimate(queryset) -> int | None:
    query = getattr(queryset, "query", None)
    if query is None or query.where or query.distinct or query.combinator or query.is_sliced:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                       [queryset.model._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class BoundedChangeListMixin:
    show_full_result_count = False
    paginator = EstimatedCountPaginator


# --- Filters whose choices need no query -----------------------------------------------------

class FixedChoicesFilter(admin.SimpleListFilter):
    """A filter on a text column whose choices come from the code, not from SELECT DISTINCT over
    the table (a scan of every row, each time the list is shown)."""

    def lookups(self, request, model_admin):
        raise NotImplementedError

    def queryset(self, request, queryset):
        return queryset.filter(**self.condition(self.value())) if self.value() else queryset

    def condition(self, value) -> dict:
        raise NotImplementedError


class AppFilter(FixedChoicesFilter):
    """Events of one part of the panel: actions named "<app>.<verb>"."""

    title = _("area")
    parameter_name = "area"
    field = "action"

    def lookups(self, request, model_admin):
        return sorted((config.label, config.verbose_name) for config in apps.get_app_configs()
                      if config.name.startswith("apps."))

    def condition(self, value) -> dict:
        return {f"{self.field}__startswith": f"{value}."}


class ModelLabelFilter(FixedChoicesFilter):
    """Rows about one kind of object: a column holding "<app>.<model>"."""

    title = _("target type")
    parameter_name = "target_type"
    field = "target_type"

    def lookups(self, request, model_admin):
        return sorted((model._meta.label_lower, f"{model._meta.app_config.verbose_name}: "
                       f"{model._meta.verbose_name}") for model in apps.get_models())

    def condition(self, value) -> dict:
        return {self.field: value}


class EmailTemplateFilter(FixedChoicesFilter):
    """Mail of one kind: the templates under templates/emails/ (<name>-subject.html)."""

    title = _("template")
    parameter_name = "template"
    field = "template"

    def lookups(self, request, model_admin):
        from django.conf import settings

        names = {path.name.removesuffix("-subject.html")
                 for directory in settings.TEMPLATES[0]["DIRS"]
                 for path in (Path(directory) / "emails").glob("*-subject.html")}
        return [(name, name) for name in sorted(names)]

    def condition(self, value) -> dict:
        return {self.field: value}


# --- The date hierarchy ------------------------------------------------------------------------

class _DatesBetween:
    """Stands in for the change list's queryset in Django's date_hierarchy: the years, months or
    days between its first and last row instead of SELECT DISTINCT over every row."""

    def __init__(self, queryset):
        self._queryset = queryset

    def aggregate(self, *args, **kwargs):
        return self._queryset.aggregate(*args, **kwargs)

    def dates(self, field_name, kind, order="ASC"):
        return self._between(field_name, kind)

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        return self._between(field_name, kind)

    def _between(self, field_name, kind) -> list[datetime.date]:
        span = self._queryset.aggregate(first=Min(field_name), last=Max(field_name))
        first, last = span["first"], span["last"]
        if first is None or last is None:
            return []
        if isinstance(first, datetime.datetime):
            first, last = (timezone.localtime(v) if timezone.is_aware(v) else v for v in (first, last))
            first, last = first.date(), last.date()
        return list(_steps(first, last, kind))


def _steps(first: datetime.date, last: datetime.date, kind: str):
    if kind == "year":
        yield from (datetime.date(year, 1, 1) for year in range(first.year, last.year + 1))
    elif kind == "month":
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            yield datetime.date(year, month, 1)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    else:
        days = (last - first).days
        yield from (first + datetime.timedelta(days=n) for n in range(days + 1))


class _BoundedList:
    """The change list as date_hierarchy sees it: itself, with the queryset stood in for."""

    def __init__(self, changelist):
        self._changelist = changelist
        self.queryset = _DatesBetween(changelist.queryset)

    def __getattr__(self, name):
        return getattr(self._changelist, name)


def bounded_date_hierarchy(changelist):
    return admin_list.date_hierarchy(_BoundedList(changelist))


@register.tag(name="date_hierarchy")
def date_hierarchy_tag(parser, token):
    """{% date_hierarchy cl %} as the admin's change list calls it, bounded (see above)."""
    return InclusionAdminNode(parser, token, func=bounded_date_hierarchy,
                              template_name="date_hierarchy.html", takes_context=False)



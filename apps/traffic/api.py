"""Traffic over the API: GET /api/container/<id>/traffic (staff, or the relay's own customer)
and GET /api/user/<id>/traffic, /api/user/me/traffic (the customer themself, or staff who may
see them). Anyone else is told nothing is there (404); anonymous callers must authenticate."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from apps.accounts.models import STAFF_ROLES
from apps.containers.models import DerpInstance
from derpmgr.api import envelope, filter_form, ok
from derpmgr.errors import NotFound

from . import series
from .forms import TrafficRangeForm
from .models import Resolution

MAX_ID = 2**31 - 1
RANGE_PARAMETERS = [OpenApiParameter("from", OpenApiTypes.DATETIME),
                    OpenApiParameter("to", OpenApiTypes.DATETIME)]


class TrafficTotals(serializers.Serializer):
    rx_bytes = serializers.IntegerField()
    tx_bytes = serializers.IntegerField()
    total_bytes = serializers.IntegerField()
    peak_bps = serializers.IntegerField(help_text="The highest rate in any period.")


class TrafficPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The period's start.")
    rx_bytes = serializers.IntegerField()
    tx_bytes = serializers.IntegerField()
    peak_bps = serializers.IntegerField()


_SERIES = {"from": serializers.DateTimeField(), "to": serializers.DateTimeField(),
           "resolution": serializers.ChoiceField(choices=Resolution.choices),
           "totals": TrafficTotals(), "points": TrafficPointSerializer(many=True)}
RELAY_TRAFFIC = envelope("RelayTraffic", **_SERIES, container_id=serializers.IntegerField(),
                         rx_bytes=serializers.IntegerField(help_text="Since the relay started."),
                         tx_bytes=serializers.IntegerField(help_text="Since the relay started."),
                         rate_bps=serializers.IntegerField(help_text="The latest rate."))
CUSTOMER_TRAFFIC = envelope("CustomerTraffic", **_SERIES, user_id=serializers.IntegerField(),
                            month_start=serializers.DateField(),
                            month_bytes=serializers.IntegerField(
                                help_text="This month's bytes over all the customer's relays."))


def _range(request, resolutions) -> dict:
    return filter_form(TrafficRangeForm, request, resolutions=resolutions).cleaned_data


def _answer(points, query, **about):
    return ok({**about, "from": query["start"].isoformat(), "to": query["end"].isoformat(),
               "resolution": query["resolution"], "totals": series.totals(points),
               "points": [point.as_dict() for point in points]})


class ContainerTrafficView(APIView):
    """GET /api/container/<id>/traffic?from=&to=&resolution=minute|hour|day — the relay's bytes
    per period (default: the last 24 hours, hourly; minutes over three days at most, a year at
    most in all) and their totals."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[*RANGE_PARAMETERS, OpenApiParameter(
        "resolution", str, enum=["minute", "hour", "day"])], responses=RELAY_TRAFFIC)
    def get(self, request, pk):
        relay = (DerpInstance.objects.visible_to(request.user).filter(pk=pk).first()
                 if 0 < pk <= MAX_ID else None)
        if relay is None:
            raise NotFound(_("No such relay."))
        query = _range(request, TrafficRangeForm.RESOLUTIONS)
        points = series.relay_series(instance_id=relay.pk, resolution=query["resolution"],
                                     start=query["start"], end=query["end"])
        return _answer(points, query, container_id=relay.pk, rx_bytes=relay.rx_bytes,
                       tx_bytes=relay.tx_bytes, rate_bps=relay.rate_bps)


def visible_customer(viewer, pk: int | None):
    """The account whose traffic `viewer` asks for: themself, or anyone staff may see."""
    if pk is None or pk == viewer.pk:
        return viewer
    if viewer.role in STAFF_ROLES and 0 < pk <= MAX_ID:
        found = get_user_model().objects.visible_to(viewer).filter(pk=pk).first()
        if found is not None:
            return found
    raise NotFound(_("No such user."))


class UserTrafficView(APIView):
    """GET /api/user/<id>/traffic?from=&to=&resolution=hour|day (or /api/user/me/traffic) — a
    customer's bytes per period over all their relays, their totals and this month's total."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[*RANGE_PARAMETERS, OpenApiParameter(
        "resolution", str, enum=["hour", "day"])], responses=CUSTOMER_TRAFFIC)
    def get(self, request, pk=None):
        user = visible_customer(request.user, pk)
        query = _range(request, (Resolution.HOUR, Resolution.DAY))
        points = series.customer_series(user_id=user.pk, resolution=query["resolution"],
                                        start=query["start"], end=query["end"])
        return _answer(points, query, user_id=user.pk,
                       month_start=series.month_start().isoformat(),
                       month_bytes=series.customer_month_bytes(user_id=user.pk))

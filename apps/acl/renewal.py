"""The periodic re-issue of derpMaps about to expire, a chunk of users at a time.

A chunk costs the same dozen statements whatever its size: the users locked in one statement,
what they were issued and took read in one each, their relays in one, the new versions and their
audit events written in one batch each, and one invalidation of the admission cache for them
all once it commits. The result per user is what `services.issue_version(notify=False)` makes.

Two runs at once never issue twice: each chunk locks its users (as every verb that issues a
version does) and looks again at what they hold before issuing, and versions are unique per user.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from apps.accounts.models import RentalState, User
from apps.audit import services as audit
from derpmgr import bulk

from . import admission, derpmap
from .models import AclConfig, AclLog, DerpMapFeed

CHUNK = 500


def _renting(now: datetime):
    return User.objects.filter(rental_state=RentalState.ACTIVE, is_active=True,
                               rental_expiry__gt=now)


def due_user_ids(*, soon: datetime) -> list[int]:
    """Active rentals whose newest derpMap ends by `soon`, or that never had one."""
    return list(_renting(timezone.now()).annotate(valid_until=Max("acl_configs__expires_at"))
                .filter(Q(valid_until__isnull=True) | Q(valid_until__lte=soon))
                .order_by("pk").values_list("pk", flat=True))


def reissue_expiring(*, within: timedelta, validity: timedelta, chunk: int = CHUNK) -> int:
    """New versions for every user due within `within`; how many were issued."""
    soon = timezone.now() + within
    ids = due_user_ids(soon=soon)
    return sum(_renew_chunk(ids[start:start + chunk], soon=soon, validity=validity)
               for start in range(0, len(ids), chunk))


def _renew_chunk(user_ids: list[int], *, soon: datetime, validity: timedelta) -> int:
    with transaction.atomic():
        now = timezone.now()
        # Locked in id order, so two runs (or a run and a verb) wait for each other, never deadlock.
        users = list(_renting(now).select_for_update().filter(pk__in=user_ids).order_by("pk"))
        locked = [user.pk for user in users]
        held = {row["user_id"]: row for row in AclConfig.objects.filter(user_id__in=locked)
                .values("user_id").annotate(version=Max("version"), until=Max("expires_at"))}
        # Looked at again under the lock: a run that overlapped this one has issued already.
        due = [u for u in users if u.pk not in held or held[u.pk]["until"] <= soon]
        if not due:
            return 0
        ids = [u.pk for u in due]
        logged = dict(AclLog.objects.filter(user_id__in=ids).values("user_id")
                      .annotate(version=Max("version")).values_list("user_id", "version"))
        newest = AclConfig.objects.filter(user_id=OuterRef("user_id")).order_by("-version")
        previous = dict(AclConfig.objects.filter(user_id__in=ids,
                                                 version=Subquery(newest.values("version")[:1]))
                        .values_list("user_id", "derp_map"))
        relays = derpmap.mapped_relays_of(ids)
        configs, events = [], []
        for user in due:
            before = previous.get(user.pk)
            derp_map = derpmap.build_from(relays.get(user.pk, []), previous=before,
                                          insecure_for_tests=settings.DERP_INSECURE_FOR_TESTS)
            version = max(held.get(user.pk, {}).get("version") or 0, logged.get(user.pk) or 0) + 1
            configs.append(AclConfig(user=user, version=version, derp_map=derp_map, issued_at=now,
                                     expires_at=now + validity, reason="renewed"))
            events.append(audit.event(actor=None, action="acl.issued", target=user, details={
                "version": version, "reason": "renewed", "changed": before != derp_map,
                "regions": sorted(derp_map["Regions"])}))
        bulk.insert_rows(AclConfig, configs, ["user", "version", "derp_map", "issued_at",
                                              "expires_at", "reason"])
        with_feed = set(DerpMapFeed.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
        DerpMapFeed.objects.bulk_create([DerpMapFeed(user_id=pk) for pk in ids if pk not in with_feed],
                                        ignore_conflicts=True)
        audit.record_all(events)
        admission.invalidate_users_on_commit(ids)
    return len(due)

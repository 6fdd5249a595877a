"""The four role groups and what the admin role may do in the Django admin."""

from django.contrib.auth.models import Group, Permission

from apps.accounts.models import Role
from apps.accounts.roles import sync_role_permissions


def _labels(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")}


def test_the_four_role_groups_exist_after_migrate(db):
    assert set(Group.objects.filter(name__in=Role.values).values_list("name", flat=True)) == {
        "superadmin", "admin", "distributor", "user"}


def test_the_admin_group_reads_users_and_the_audit_log(db):
    labels = _labels(Group.objects.get(name=Role.ADMIN))
    assert {"accounts.view_user", "audit.view_auditevent"} <= labels
    assert not {"audit.add_auditevent", "audit.change_auditevent", "audit.delete_auditevent"} & labels


def test_the_admin_group_never_keeps_a_system_settings_permission(db):
    admin_group = Group.objects.get(name=Role.ADMIN)
    admin_group.permissions.add(*Permission.objects.filter(content_type__app_label="django_celery_beat"))
    sync_role_permissions()
    labels = _labels(admin_group)
    assert not [label for label in labels if label.startswith("django_celery_beat.")]
    assert "accounts.view_user" in labels


def test_customer_groups_hold_no_permission(db):
    for role in (Role.DISTRIBUTOR, Role.USER):
        assert _labels(Group.objects.get(name=role)) == set()


def test_a_user_belongs_to_the_group_of_their_role(customer, admin_user):
    assert list(customer.groups.values_list("name", flat=True)) == ["user"]
    assert list(admin_user.groups.values_list("name", flat=True)) == ["admin"]
    assert admin_user.has_perm("audit.view_auditevent")
    assert not admin_user.has_perm("django_celery_beat.change_periodictask")

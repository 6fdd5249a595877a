from django.db import migrations

ROLES = ["superadmin", "admin", "distributor", "user"]


def create_role_groups(apps, schema_editor):
    # The groups exist from the start; their permissions are synced after every migrate
    # (apps.accounts.roles), because permissions themselves are only created then.
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]

"""Create the four role groups and give them the tracker's permissions."""

from django.db import migrations

from architect.lib.role_grants import ALL, READ_WRITE, VIEW, grant, grant_app_to_admin

TRACKER = ("goal", "milestone", "feature", "bug", "task")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role in ("admin", "maintainer", "viewer", "agent"):
        Group.objects.get_or_create(name=role)
    for app_label in ("projects", "auth", "authtoken", "auditlog", "django_q", "axes"):
        grant_app_to_admin(apps, app_label)
    maintainer = {f"projects.{m}": ALL for m in TRACKER}
    maintainer.update({"projects.project": READ_WRITE, "projects.event": VIEW, "projects.taskattempt": VIEW})
    maintainer["projects.secret"] = VIEW
    viewer = {f"projects.{m}": VIEW for m in (*TRACKER, "project", "event", "taskattempt", "secret")}
    grant(apps, {"maintainer": maintainer, "viewer": viewer})


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("auditlog", "0001_initial"),
        ("django_q", "0001_initial"),
        ("axes", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]

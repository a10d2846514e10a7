"""Give the role groups their permissions on this app's models (admin pages)."""

from django.db import migrations

from architect.lib.role_grants import ALL, VIEW, grant_app


def grant_roles(apps, schema_editor):
    grant_app(apps, "autopilot", {"maintainer": ALL, "viewer": VIEW})


class Migration(migrations.Migration):
    dependencies = [("autopilot", "0002_review_closed_status"), ("projects", "0002_roles")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]

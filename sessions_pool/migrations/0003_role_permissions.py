"""Give the role groups their permissions on this app's models (admin pages)."""

from django.db import migrations

from architect.lib.role_grants import VIEW, grant_app


def grant_roles(apps, schema_editor):
    grant_app(apps, "sessions_pool", {"maintainer": VIEW, "viewer": VIEW})


class Migration(migrations.Migration):
    dependencies = [("sessions_pool", "0002_seed_profiles"), ("projects", "0002_roles")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]

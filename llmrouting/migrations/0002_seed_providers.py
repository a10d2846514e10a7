"""Seed the six provider kinds with current models (disabled) and the offline demo provider (enabled)."""

from django.db import migrations


def seed(apps, schema_editor):
    from llmrouting.catalog import seed_defaults

    seed_defaults(
        apps.get_model("llmrouting", "Provider"),
        apps.get_model("llmrouting", "Deployment"),
        apps.get_model("llmrouting", "DeploymentHealth"),
    )


class Migration(migrations.Migration):
    dependencies = [("llmrouting", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

"""Helpers for data migrations that give the role groups their model permissions.

Each app's migration calls `grant` for its own models, so a role's permissions
grow with the apps installed and are never edited by hand.
"""

VIEW = ("view",)
READ_WRITE = ("add", "change", "view")
ALL = ("add", "change", "delete", "view")


def ensure_permissions(apps) -> None:
    """Create model permissions now; Django normally does it after all migrations."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, grants: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """GRANTS maps a role to {"app_label.model": actions}."""
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, models in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        for label, actions in models.items():
            app_label, model = label.split(".")
            codenames = [f"{action}_{model}" for action in actions]
            permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            group.permissions.add(*permissions)


def grant_app_to_admin(apps, app_label: str) -> None:
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="admin")
    group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label))


def grant_app(apps, app_label: str, actions_by_role: dict[str, tuple[str, ...]]) -> None:
    """Give each role ACTIONS on every model of APP_LABEL (and admins everything)."""
    models = [model._meta.model_name for model in apps.get_app_config(app_label).get_models()]
    grant(apps, {role: {f"{app_label}.{m}": actions for m in models} for role, actions in actions_by_role.items()})
    grant_app_to_admin(apps, app_label)

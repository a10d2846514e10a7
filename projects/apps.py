from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Tracker"

    def ready(self):
        from projects import audit  # noqa: F401  (registers models with django-auditlog)

from django.apps import AppConfig


class ArchitectConfig(AppConfig):
    name = "architect"
    verbose_name = "Architect"

    def ready(self):
        from architect import checks  # noqa: F401  (registers system checks)

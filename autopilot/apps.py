from django.apps import AppConfig


class AutopilotConfig(AppConfig):
    name = "autopilot"
    verbose_name = "Autopilot"

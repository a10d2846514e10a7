from django.apps import AppConfig


class SessionsPoolConfig(AppConfig):
    name = "sessions_pool"
    verbose_name = "Agent sessions"

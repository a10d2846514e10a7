from django.apps import AppConfig


class LlmroutingConfig(AppConfig):
    name = "llmrouting"
    verbose_name = "LLM routing"

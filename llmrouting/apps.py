from django.apps import AppConfig


class LlmroutingConfig(AppConfig):
    name = "llmrouting"
    verbose_name = "LLM routing"

    def ready(self):
        from architect import metrics
        from llmrouting import (
            config,
            executor,  # noqa: F401  (registers the `llm` executor)
            prometheus,
        )
        from llmrouting import demo as llm_demo
        from projects import demo

        config.connect_signals()
        if prometheus.collect_llm not in metrics.COLLECTORS:
            metrics.COLLECTORS.append(prometheus.collect_llm)
        if llm_demo.seed_llm_demo not in demo.DEMO_SEEDERS:
            demo.DEMO_SEEDERS.append(llm_demo.seed_llm_demo)

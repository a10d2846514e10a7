from django.apps import AppConfig


class SessionsPoolConfig(AppConfig):
    name = "sessions_pool"
    verbose_name = "Agent sessions"

    def ready(self):
        from architect import metrics, processes
        from projects import demo
        from projects.executors import registry
        from sessions_pool import demo as session_demo
        from sessions_pool import metrics as session_metrics
        from sessions_pool.executor import AgentExecutor

        registry.register(AgentExecutor)
        processes.register("sessions", "supervise_sessions")
        if session_metrics.collect_sessions not in metrics.COLLECTORS:
            metrics.COLLECTORS.append(session_metrics.collect_sessions)
        if session_demo.seed_sessions not in demo.DEMO_SEEDERS:
            demo.DEMO_SEEDERS.append(session_demo.seed_sessions)

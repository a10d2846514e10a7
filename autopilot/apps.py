from django.apps import AppConfig


class AutopilotConfig(AppConfig):
    name = "autopilot"
    verbose_name = "Autopilot"

    def ready(self):
        from architect import metrics, processes, schedules
        from autopilot import demo
        from autopilot import metrics as autopilot_metrics
        from projects.demo import DEMO_SEEDERS

        processes.register("autopilot", "autopilot")
        schedules.register("autopilot-close-finished-work", "autopilot.jobs.close_finished_work", minutes=5)
        if demo.seed_autopilot_demo not in DEMO_SEEDERS:
            DEMO_SEEDERS.append(demo.seed_autopilot_demo)
        if autopilot_metrics.collect not in metrics.COLLECTORS:
            metrics.COLLECTORS.append(autopilot_metrics.collect)

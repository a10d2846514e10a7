from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Tracker"

    def ready(self):
        from architect import processes, schedules
        from projects import audit  # noqa: F401  (registers models with django-auditlog)
        from projects.executors import shell  # noqa: F401  (registers the shell executor)

        processes.register("dispatcher", "dispatcher")
        schedules.register("task-lease-reaper", "projects.jobs.reap_leases", minutes=1)
        schedules.register("event-retention", "projects.retention.prune_events", minutes=60)

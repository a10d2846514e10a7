"""Field-level history for every domain model. Secret values are never recorded."""

from auditlog.registry import auditlog

from projects.models import Bug, Feature, Goal, Milestone, Project, Secret, Task

for model in (Project, Goal, Milestone, Feature, Bug):
    auditlog.register(model)
auditlog.register(Task, m2m_fields={"depends_on"})
auditlog.register(Secret, exclude_fields=["value"])

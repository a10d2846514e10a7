from projects.models.event import Event
from projects.models.planning import Bug, Feature, Goal, Milestone, WorkStatus
from projects.models.project import Project
from projects.models.secret import Secret
from projects.models.task import ExecutorKind, Task, TaskAttempt, TaskStatus

__all__ = [
    "Bug",
    "Event",
    "ExecutorKind",
    "Feature",
    "Goal",
    "Milestone",
    "Project",
    "Secret",
    "Task",
    "TaskAttempt",
    "TaskStatus",
    "WorkStatus",
]

"""Thin API adapters: selectors for reads, services for writes."""

from django.db.models import Model
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from architect import roles
from projects import selectors
from projects.api import serializers
from projects.models import Bug, Feature, Goal, Milestone, Project, Secret
from projects.services import tasks as task_services
from projects.services import tracker


class TrackerViewSet(viewsets.ModelViewSet):
    """CRUD for a tracker model through the generic tracker services."""

    model: type[Model]
    selector = None
    many_fields: tuple[str, ...] = ()

    def get_queryset(self):
        return type(self).selector(self.request.user)

    def object_project_id(self, obj) -> int | None:
        return obj.project_id

    def perform_create(self, serializer):
        fields, many = self._split(serializer.validated_data)
        serializer.instance = tracker.tracker_create(self.model, actor=self.request.user, fields=fields, many=many)

    def perform_update(self, serializer):
        fields, many = self._split(serializer.validated_data)
        serializer.instance = tracker.tracker_update(
            serializer.instance, actor=self.request.user, fields=fields, many=many
        )

    def perform_destroy(self, instance):
        tracker.tracker_delete(instance, actor=self.request.user)

    def _split(self, data: dict) -> tuple[dict, dict]:
        fields = {k: v for k, v in data.items() if k not in self.many_fields}
        many = {k: v for k, v in data.items() if k in self.many_fields}
        return fields, many


class ProjectViewSet(TrackerViewSet):
    model = Project
    selector = staticmethod(selectors.project_list)
    serializer_class = serializers.ProjectSerializer
    many_fields = ("agents",)
    delete_roles = {roles.ADMIN}
    filterset_fields = ["status", "slug"]
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def object_project_id(self, obj) -> int:
        return obj.pk

    def perform_create(self, serializer):
        serializer.validated_data["owner"] = self.request.user
        super().perform_create(serializer)


class GoalViewSet(TrackerViewSet):
    model = Goal
    selector = staticmethod(selectors.goal_list)
    serializer_class = serializers.GoalSerializer
    filterset_fields = ["project", "status", "priority"]
    search_fields = ["title", "description"]
    ordering_fields = ["priority", "target_date", "created_at"]


class MilestoneViewSet(TrackerViewSet):
    model = Milestone
    selector = staticmethod(selectors.milestone_list)
    serializer_class = serializers.MilestoneSerializer
    filterset_fields = ["project", "goal", "status"]
    search_fields = ["title"]
    ordering_fields = ["due_date", "created_at"]


class FeatureViewSet(TrackerViewSet):
    model = Feature
    selector = staticmethod(selectors.feature_list)
    serializer_class = serializers.FeatureSerializer
    filterset_fields = ["project", "milestone", "status"]
    search_fields = ["title", "description"]
    ordering_fields = ["created_at", "title"]


class BugViewSet(TrackerViewSet):
    model = Bug
    selector = staticmethod(selectors.bug_list)
    serializer_class = serializers.BugSerializer
    agent_actions = ("create", "update", "partial_update")
    filterset_fields = ["project", "feature", "severity", "status"]
    search_fields = ["title", "description", "steps_to_reproduce"]
    ordering_fields = ["severity", "created_at"]

    def perform_create(self, serializer):
        serializer.validated_data["reported_by"] = self.request.user
        super().perform_create(serializer)


class TaskViewSet(TrackerViewSet):
    selector = staticmethod(selectors.task_list)
    serializer_class = serializers.TaskSerializer
    agent_actions = ("update", "partial_update")
    filterset_fields = {
        "project": ["exact"],
        "goal": ["exact"],
        "milestone": ["exact"],
        "feature": ["exact"],
        "bug": ["exact"],
        "status": ["exact", "in"],
        "executor": ["exact", "in"],
        "priority": ["exact", "gte", "lte"],
        "assignee": ["exact"],
    }
    search_fields = ["title", "description"]
    ordering_fields = ["priority", "created_at", "updated_at", "status"]

    def perform_create(self, serializer):
        serializer.instance = task_services.task_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        task = serializer.instance
        new_status = data.pop("status", task.status)
        if new_status != task.status:
            task = task_services.task_transition(task, to=new_status, actor=self.request.user)
        serializer.instance = task_services.task_update(task, actor=self.request.user, **data)

    def perform_destroy(self, instance):
        task_services.task_delete(instance, actor=self.request.user)


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """The activity stream; `?after=<id>` returns what came after that event."""

    serializer_class = serializers.EventSerializer
    filterset_fields = ["project", "type", "object_type", "object_id"]
    ordering_fields = ["id"]
    ordering = ["id"]

    def get_queryset(self):
        return selectors.event_list(self.request.user, after=self._after())

    def _after(self) -> int | None:
        raw = self.request.query_params.get("after")
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except ValueError:
            raise ValidationError({"after": "Must be an event id (an integer)."}) from None


class SecretViewSet(TrackerViewSet):
    """Names are listed to staff; values are write-only, and only admins write."""

    model = Secret
    selector = staticmethod(selectors.secret_list)
    serializer_class = serializers.SecretSerializer
    write_roles = {roles.ADMIN}
    delete_roles = {roles.ADMIN}
    filterset_fields = ["project", "name"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

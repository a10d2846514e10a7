"""Thin API adapters: selectors for reads, services for writes."""

from django.db.models import Model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from architect import roles
from architect.errors import LeaseLost
from projects import selectors
from projects.api import serializers
from projects.engine.claim import claim_next
from projects.models import Bug, Feature, Goal, Milestone, Project, Secret
from projects.services import tasks as task_services
from projects.services import tracker


class TrackerViewSet(viewsets.ModelViewSet):
    """CRUD for a tracker model through the generic tracker services."""

    model: type[Model]
    selector = None
    many_fields: tuple[str, ...] = ()
    # Other apps reuse this viewset with their own generic write services.
    create_service = staticmethod(tracker.tracker_create)
    update_service = staticmethod(tracker.tracker_update)
    delete_service = staticmethod(tracker.tracker_delete)

    def get_queryset(self):
        return type(self).selector(self.request.user)

    def object_project_id(self, obj) -> int | None:
        return obj.project_id

    def perform_create(self, serializer):
        fields, many = self._split(serializer.validated_data)
        serializer.instance = type(self).create_service(self.model, actor=self.request.user, fields=fields, many=many)

    def perform_update(self, serializer):
        fields, many = self._split(serializer.validated_data)
        serializer.instance = type(self).update_service(
            serializer.instance, actor=self.request.user, fields=fields, many=many
        )

    def perform_destroy(self, instance):
        type(self).delete_service(instance, actor=self.request.user)

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
    """Tasks, plus the engine's actions: pull-mode claim and runner reports, and queue/cancel/retry.

    An outside runner claims with its token, then heartbeats (renewing the lease), reports progress and
    completes or fails; only the runner that claimed a task may report on it. Agents act on the tasks
    of their own projects only.
    """

    selector = staticmethod(selectors.task_list)
    serializer_class = serializers.TaskSerializer
    agent_actions = ("update", "partial_update", "claim", "heartbeat", "progress", "complete", "fail")
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

    def _runner(self) -> str:
        return f"api:{self.request.user.get_username()}"

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _task_response(self, task, code=status.HTTP_200_OK) -> Response:
        task = self.get_queryset().get(pk=task.pk)
        return Response(serializers.TaskSerializer(task, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=serializers.TaskClaimSerializer,
        responses={200: serializers.TaskSerializer, 204: OpenApiResponse(description="Nothing is ready.")},
    )
    @action(detail=False, methods=["post"])
    def claim(self, request):
        """Claim the next ready task for these executors and skills (priority, then age)."""
        data = self._input(serializers.TaskClaimSerializer)
        projects = selectors.visible_projects(request.user).values_list("pk", flat=True)
        task = claim_next(
            runner=self._runner(), executors=data["executors"], skills=data["skills"], actor=request.user,
            project_ids=list(projects) if roles.is_agent_only(request.user) else None,
            lease_seconds=data.get("lease_seconds"),
        )  # fmt: skip
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self._task_response(task)

    @extend_schema(request=serializers.TaskHeartbeatSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def heartbeat(self, request, pk=None):
        """Renew the lease (and mark a claimed task as running)."""
        data = self._input(serializers.TaskHeartbeatSerializer)
        task = self.get_object()
        if task.status == "claimed":
            task = task_services.task_progress(task.pk, runner=self._runner(), actor=request.user)
        if not task_services.task_heartbeat(task.pk, runner=self._runner(), lease_seconds=data.get("lease_seconds")):
            raise LeaseLost(task)
        return self._task_response(task)

    @extend_schema(request=serializers.TaskProgressSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        """Report progress (0–100), a note and output for the attempt's log; renews the lease."""
        data = self._input(serializers.TaskProgressSerializer)
        task = self.get_object()
        task = task_services.task_progress(
            task.pk, runner=self._runner(), actor=request.user,
            progress=data.get("progress"), note=data["note"], log=data["log"],
        )  # fmt: skip
        return self._task_response(task)

    @extend_schema(request=serializers.TaskCompleteSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Report success: the task goes to review (or done with needs_review false)."""
        data = self._input(serializers.TaskCompleteSerializer)
        task = task_services.task_complete(self.get_object().pk, runner=self._runner(), actor=request.user, **data)
        return self._task_response(task)

    @extend_schema(request=serializers.TaskFailSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        """Report failure: retried with backoff while attempts remain (unless retryable is false)."""
        data = self._input(serializers.TaskFailSerializer)
        data["output"] = data.pop("result")
        task = task_services.task_fail(self.get_object().pk, runner=self._runner(), actor=request.user, **data)
        return self._task_response(task)

    @extend_schema(request=serializers.TaskMoveSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def queue(self, request, pk=None):
        """Put a backlog or blocked task in the queue (ready)."""
        reason = self._input(serializers.TaskMoveSerializer)["reason"] or "queued"
        return self._task_response(task_services.task_queue(self.get_object(), actor=request.user, reason=reason))

    @extend_schema(request=serializers.TaskMoveSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a task; a running attempt is stopped and its dependents are blocked."""
        reason = self._input(serializers.TaskMoveSerializer)["reason"] or "cancelled"
        return self._task_response(task_services.task_cancel(self.get_object(), actor=request.user, reason=reason))

    @extend_schema(request=serializers.TaskMoveSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Send a failed or cancelled task back to the queue with a fresh attempt budget."""
        reason = self._input(serializers.TaskMoveSerializer)["reason"] or "retried"
        return self._task_response(task_services.task_retry(self.get_object(), actor=request.user, reason=reason))

    @extend_schema(request=None, responses=serializers.TaskAttemptSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def attempts(self, request, pk=None):
        """Every attempt of the task, oldest first, with its error, log and context."""
        attempts = self.get_object().attempt_set.order_by("number")
        return Response(serializers.TaskAttemptSerializer(attempts, many=True).data)


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

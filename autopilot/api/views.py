"""Thin API adapters over the autopilot selectors and services.

Maintainers and admins start, approve, pause, resume, abort and re-plan runs, decide reviews and
edit approval rules; viewers read everything; agents read the runs and reviews of their own
projects and change nothing here.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from autopilot import selectors
from autopilot.api import serializers
from autopilot.services import reviews, rules, runs
from projects.selectors import goal_list


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 mixins.UpdateModelMixin, viewsets.GenericViewSet):  # fmt: skip
    """Autopilot runs. `POST` (or `start`) plans a goal; `approve` accepts the plan; `pause`, `resume`,
    `abort` and `replan` control the run; `PATCH` changes its budget cap, parallelism or plan policy."""

    filterset_fields = ["project", "goal", "status"]
    ordering_fields = ["id", "created_at", "updated_at", "status"]
    search_fields = ["goal__title", "reason"]

    def get_queryset(self):
        return selectors.run_list(self.request.user)

    def get_serializer_class(self):
        if self.action in ("create", "start"):
            return serializers.RunStartSerializer
        return serializers.RunDetailSerializer if self.action != "list" else serializers.RunSerializer

    def object_project_id(self, obj) -> int:
        return obj.project_id

    def _respond(self, run, code=status.HTTP_200_OK) -> Response:
        run = self.get_queryset().get(pk=run.pk)
        return Response(serializers.RunDetailSerializer(run, context=self.get_serializer_context()).data, status=code)

    def _start(self, request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(runs.run_start(actor=request.user, **data.validated_data), status.HTTP_201_CREATED)

    @extend_schema(request=serializers.RunStartSerializer, responses={201: serializers.RunDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Start a run for a goal (same as `start`)."""
        return self._start(request)

    @extend_schema(request=serializers.RunStartSerializer, responses={201: serializers.RunDetailSerializer})
    @action(detail=False, methods=["post"])
    def start(self, request):
        """Start a run for a goal: the run loop plans it, then it waits for approval (or policy accepts it)."""
        return self._start(request)

    def perform_update(self, serializer):
        serializer.instance = runs.run_update(serializer.instance, actor=self.request.user, **serializer.validated_data)

    @extend_schema(request=None, responses=serializers.RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the proposed plan: its milestones and tasks are created and the run starts."""
        return self._respond(runs.run_approve(self.get_object(), actor=request.user))

    @extend_schema(request=serializers.ReasonSerializer, responses=serializers.RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Stop queueing tasks (queued ones go back to the backlog; running ones finish)."""
        reason = self._reason(request) or f"Paused by {request.user.get_username()}."
        return self._respond(runs.run_pause(self.get_object(), actor=request.user, reason=reason))

    @extend_schema(request=None, responses=serializers.RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Carry on (refused while the run is over its budget cap)."""
        return self._respond(runs.run_resume(self.get_object(), actor=request.user))

    @extend_schema(request=serializers.ReasonSerializer, responses=serializers.RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def abort(self, request, pk=None):
        """Abort: every unfinished task of the run is cancelled."""
        reason = self._reason(request) or f"Aborted by {request.user.get_username()}."
        return self._respond(runs.run_abort(self.get_object(), actor=request.user, reason=reason))

    @extend_schema(request=None, responses=serializers.RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def replan(self, request, pk=None):
        """Plan the goal again; finished tasks are kept."""
        return self._respond(runs.run_replan(self.get_object(), actor=request.user))

    @staticmethod
    def _reason(request) -> str:
        data = serializers.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["reason"]


class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """The review queue (`?status=pending` for what waits). `approve`, `reject` (comment → rework task)
    and `request_changes` (comment → the task runs again)."""

    serializer_class = serializers.ReviewSerializer
    filterset_fields = ["project", "run", "task", "status", "executor"]
    ordering_fields = ["id", "created_at", "cost", "lines_changed"]
    search_fields = ["task__title", "result", "comment"]

    def get_queryset(self):
        return selectors.review_list(self.request.user)

    def object_project_id(self, obj) -> int:
        return obj.project_id

    def _comment(self, request) -> str:
        data = serializers.CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["comment"]

    def _respond(self, item) -> Response:
        item = self.get_queryset().get(pk=item.pk)
        return Response(serializers.ReviewSerializer(item, context=self.get_serializer_context()).data)

    @extend_schema(request=serializers.CommentSerializer, responses=serializers.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: the task is done."""
        comment = self._comment(request)
        return self._respond(reviews.review_approve(self.get_object(), actor=request.user, comment=comment))

    @extend_schema(request=serializers.CommentSerializer, responses=serializers.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a comment (required): a linked rework task carries it; the original is cancelled."""
        comment = self._comment(request)
        return self._respond(reviews.review_reject(self.get_object(), actor=request.user, comment=comment))

    @extend_schema(request=serializers.CommentSerializer, responses=serializers.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def request_changes(self, request, pk=None):
        """Send the task back to the queue with the comment (required) added to its prompt."""
        comment = self._comment(request)
        return self._respond(reviews.review_request_changes(self.get_object(), actor=request.user, comment=comment))


class RuleViewSet(viewsets.ModelViewSet):
    """Approval rules, tried in position order; the first enabled rule whose conditions all hold approves."""

    serializer_class = serializers.RuleSerializer
    filterset_fields = ["project", "executor", "enabled"]
    ordering_fields = ["position", "id", "name"]
    search_fields = ["name", "test_marker"]

    def get_queryset(self):
        return selectors.rule_list(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = rules.rule_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = rules.rule_update(serializer.instance, actor=self.request.user,
                                                **serializer.validated_data)  # fmt: skip

    def perform_destroy(self, instance):
        rules.rule_delete(instance, actor=self.request.user)


class GoalProgressViewSet(viewsets.GenericViewSet):
    """Goals with their progress and their milestones' progress, weighted by task estimate."""

    serializer_class = serializers.GoalProgressSerializer
    filterset_fields = ["project", "status"]
    ordering_fields = ["id", "priority"]
    search_fields = ["title"]

    def get_queryset(self):
        return goal_list(self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        ids = [goal.pk for goal in page]
        rows = {row["id"]: row for row in selectors.goal_overview(request.user, goal_ids=ids)}
        return self.get_paginated_response([rows[pk] for pk in ids if pk in rows])

    def retrieve(self, request, pk=None):
        goal = self.get_object()
        return Response(selectors.goal_overview(request.user, goal_ids=[goal.pk])[0])

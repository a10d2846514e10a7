"""Thin API adapters: selectors for reads, services for writes."""

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from architect import roles
from sessions_pool import selectors, services, tmux
from sessions_pool.api import serializers
from sessions_pool.models import SessionState


class AgentProfileViewSet(viewsets.ModelViewSet):
    """Agent CLIs: command, prompt submission, detection patterns and auto-confirm rules (admins edit)."""

    serializer_class = serializers.AgentProfileSerializer
    write_roles = {roles.ADMIN}
    delete_roles = {roles.ADMIN}
    filterset_fields = ["enabled", "is_default", "name"]
    search_fields = ["name", "label", "command"]
    ordering_fields = ["name", "min_sessions", "max_sessions"]

    def get_queryset(self):
        live = Count("sessions", filter=~Q(sessions__state=SessionState.STOPPED))
        return selectors.profile_list(self.request.user).annotate(live_count=live).order_by("name")

    def perform_create(self, serializer):
        serializer.instance = services.profile_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.profile_update(
            serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.profile_delete(instance, actor=self.request.user)


class AgentSessionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Live agent sessions. Maintainers start, stop and restart them and type into them; viewers look."""

    serializer_class = serializers.AgentSessionSerializer
    filterset_fields = {"profile": ["exact"], "state": ["exact", "in"], "task": ["exact"]}
    search_fields = ["name", "alert", "last_output"]
    ordering_fields = ["id", "state", "last_activity_at", "created_at"]

    def get_queryset(self):
        return selectors.session_list(self.request.user)

    def object_project_id(self, obj):
        return obj.task.project_id if obj.task_id else None

    def perform_create(self, serializer):
        profile = serializer.validated_data["profile"]
        serializer.instance = services.session_spawn(profile=profile, actor=self.request.user)

    @extend_schema(request=None, responses=serializers.SessionScreenSerializer)
    @action(detail=True, methods=["get"])
    def screen(self, request, pk=None):
        """The live screen of the session's pane (what a person attached to tmux would see)."""
        session = self.get_object()
        lines, cursor = [], [0, 0]
        if session.is_live:
            try:
                pane, lines = tmux.snapshot(session.name)
                cursor = [pane.cursor_y, 0]
            except tmux.TmuxError:
                lines = []
        return Response({"id": session.pk, "state": session.state, "lines": lines, "cursor": cursor})

    @extend_schema(request=serializers.SessionKeysSerializer, responses=serializers.AgentSessionSerializer)
    @action(detail=True, methods=["post"], url_path="send-keys")
    def send_keys(self, request, pk=None):
        """Type text and/or tmux keys (Enter, Escape, C-c, y…) into the session."""
        data = self._input(serializers.SessionKeysSerializer)
        session = services.session_send_keys(self.get_object(), actor=request.user, **data)
        return self._session_response(session)

    @extend_schema(request=serializers.SessionReasonSerializer, responses=serializers.AgentSessionSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        data = self._input(serializers.SessionReasonSerializer)
        session = services.session_stop(
            self.get_object(), actor=request.user, reason=data["reason"] or "stopped by hand"
        )
        return self._session_response(session)

    @extend_schema(request=serializers.SessionReasonSerializer, responses=serializers.AgentSessionSerializer)
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        data = self._input(serializers.SessionReasonSerializer)
        session = self.get_object()
        services.session_restart(session, actor=request.user, reason=data["reason"] or "restarted by hand")
        return self._session_response(session)

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _session_response(self, session, code=status.HTTP_200_OK) -> Response:
        session = self.get_queryset().get(pk=session.pk)
        return Response(self.get_serializer(session).data, status=code)

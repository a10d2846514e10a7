from rest_framework import serializers

from sessions_pool.models import AgentProfile, AgentSession


class AgentProfileSerializer(serializers.ModelSerializer):
    live_sessions = serializers.SerializerMethodField()

    class Meta:
        model = AgentProfile
        fields = [
            "id", "name", "label", "command", "environment", "enabled", "is_default", "skills",
            "submit_mode", "prompt_template", "submit_keys", "interrupt_keys",
            "busy_patterns", "idle_patterns", "confirm_patterns", "error_patterns", "finished_patterns",
            "token_patterns", "auto_confirm_rules", "deny_patterns",
            "min_sessions", "max_sessions", "idle_timeout_seconds", "startup_timeout_seconds", "live_sessions",
        ]  # fmt: skip

    def get_live_sessions(self, profile) -> int:
        return getattr(profile, "live_count", 0)

    def validate(self, attrs):
        # Model validation (regexes, rules, min ≤ max) runs in the service; DRF only checks types here.
        return attrs


class AgentSessionSerializer(serializers.ModelSerializer):
    profile_name = serializers.CharField(source="profile.name", read_only=True)
    task_title = serializers.CharField(source="task.title", read_only=True, default=None)
    last_lines = serializers.SerializerMethodField()

    class Meta:
        model = AgentSession
        fields = [
            "id", "name", "profile", "profile_name", "state", "task", "task_title", "workdir", "created_at",
            "started_at", "last_activity_at", "stopped_at", "last_lines", "alert", "last_error", "restarts",
            "prompt_tokens", "completion_tokens",
        ]  # fmt: skip
        read_only_fields = [f for f in fields if f != "profile"]

    def get_last_lines(self, session) -> list[str]:
        return session.last_output.splitlines()[-10:]


class SessionKeysSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000, trim_whitespace=False)
    keys = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z0-9\-]{1,20}$", help_text="tmux key names: Enter, Escape, C-c, y, Up…"),
        required=False,
        default=list,
        max_length=50,
    )
    enter = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs["text"] and not attrs["keys"] and not attrs["enter"]:
            raise serializers.ValidationError("Send some text, keys or enter.")
        return attrs


class SessionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class SessionScreenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    lines = serializers.ListField(child=serializers.CharField(allow_blank=True))
    cursor = serializers.ListField(child=serializers.IntegerField())

from rest_framework import serializers

from projects import selectors
from projects.models import Bug, Event, ExecutorKind, Feature, Goal, Milestone, Project, Secret, Task, TaskAttempt


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A link that only accepts rows the requesting user may read."""

    def __init__(self, *, selector, **kwargs):
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(self.context["request"].user)


def project_field(**kwargs):
    return ScopedRelatedField(selector=selectors.visible_projects, **kwargs)


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = [
            "id", "name", "slug", "description", "repository", "default_branch", "status",
            "owner", "agents", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["owner", "created_at", "updated_at"]


class GoalSerializer(serializers.ModelSerializer):
    project = project_field()

    class Meta:
        model = Goal
        fields = ["id", "project", "title", "description", "status", "priority", "target_date", "created_at"]


class MilestoneSerializer(serializers.ModelSerializer):
    project = project_field()
    goal = ScopedRelatedField(selector=selectors.goal_list, required=False, allow_null=True)
    progress = serializers.SerializerMethodField()
    task_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Milestone
        fields = ["id", "project", "goal", "title", "due_date", "status", "progress", "task_count", "created_at"]

    def get_progress(self, milestone) -> float:
        return selectors.milestone_progress(milestone)


class FeatureSerializer(serializers.ModelSerializer):
    project = project_field()
    milestone = ScopedRelatedField(selector=selectors.milestone_list, required=False, allow_null=True)

    class Meta:
        model = Feature
        fields = ["id", "project", "milestone", "title", "description", "status", "created_at"]


class BugSerializer(serializers.ModelSerializer):
    project = project_field()
    feature = ScopedRelatedField(selector=selectors.feature_list, required=False, allow_null=True)

    class Meta:
        model = Bug
        fields = [
            "id", "project", "feature", "title", "description", "severity", "status",
            "steps_to_reproduce", "environment", "reported_by", "created_at",
        ]  # fmt: skip
        read_only_fields = ["reported_by", "created_at"]


class TaskSerializer(serializers.ModelSerializer):
    project = project_field()
    goal = ScopedRelatedField(selector=selectors.goal_list, required=False, allow_null=True)
    milestone = ScopedRelatedField(selector=selectors.milestone_list, required=False, allow_null=True)
    feature = ScopedRelatedField(selector=selectors.feature_list, required=False, allow_null=True)
    bug = ScopedRelatedField(selector=selectors.bug_list, required=False, allow_null=True)
    depends_on = ScopedRelatedField(selector=selectors.task_list, many=True, required=False)
    allowed_transitions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Task
        fields = [
            "id", "project", "goal", "milestone", "feature", "bug", "title", "description", "status",
            "allowed_transitions", "priority", "executor", "skills", "estimate", "repository", "branch",
            "base_commit", "working_dir", "environment", "metadata", "depends_on", "attempts", "max_attempts",
            "timeout_seconds", "not_before", "assignee", "claimed_by", "lease_expires_at", "blocked_reason",
            "progress", "progress_note", "last_error", "result", "result_data", "prompt_tokens",
            "completion_tokens", "cost", "created_at", "updated_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = [
            "attempts", "claimed_by", "lease_expires_at", "blocked_reason", "progress", "progress_note",
            "last_error", "result", "result_data", "prompt_tokens", "completion_tokens", "cost", "created_at",
            "updated_at", "started_at", "finished_at",
        ]  # fmt: skip

    def validate_skills(self, value):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise serializers.ValidationError("Skills must be a list of strings.")
        return value

    def validate_environment(self, value):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise serializers.ValidationError("Environment must be an object of string values.")
        return value


class TaskAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskAttempt
        fields = [
            "id", "number", "runner", "outcome", "error", "exit_status", "log", "context", "prompt_tokens",
            "completion_tokens", "cost", "duration_seconds", "started_at", "finished_at",
        ]  # fmt: skip


class TaskClaimSerializer(serializers.Serializer):
    executors = serializers.ListField(
        child=serializers.CharField(max_length=20), allow_empty=False,
        help_text=f"Executor kinds this runner handles, e.g. [\"external\"]: {', '.join(ExecutorKind.values)}.",
    )  # fmt: skip
    skills = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list,
        help_text="Skills this runner offers; a task qualifies when its skills are a subset.",
    )  # fmt: skip
    lease_seconds = serializers.IntegerField(
        min_value=5, max_value=86400, required=False, help_text="Lease length; renew it with heartbeat."
    )

    def validate_executors(self, value):
        unknown = sorted(set(value) - set(ExecutorKind.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown executor kind(s): {', '.join(unknown)}.")
        return value


class TaskHeartbeatSerializer(serializers.Serializer):
    lease_seconds = serializers.IntegerField(min_value=5, max_value=86400, required=False)


class TaskProgressSerializer(serializers.Serializer):
    progress = serializers.IntegerField(min_value=0, max_value=100, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    log = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                help_text="Output to append to the attempt's log.")  # fmt: skip


class TaskCompleteSerializer(serializers.Serializer):
    result = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    data = serializers.DictField(required=False, default=dict, help_text="Commit, diff, links…")
    exit_status = serializers.IntegerField(required=False, allow_null=True, default=None)
    needs_review = serializers.BooleanField(required=False, default=True)
    prompt_tokens = serializers.IntegerField(min_value=0, required=False, default=0)
    completion_tokens = serializers.IntegerField(min_value=0, required=False, default=0)
    cost = serializers.DecimalField(max_digits=14, decimal_places=6, min_value=0, required=False, default=0)


class TaskFailSerializer(serializers.Serializer):
    error = serializers.CharField(trim_whitespace=False)
    retryable = serializers.BooleanField(required=False, default=True)
    result = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    exit_status = serializers.IntegerField(required=False, allow_null=True, default=None)


class TaskMoveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "created_at", "actor", "type", "object_type", "object_id", "project", "payload"]


class SecretSerializer(serializers.ModelSerializer):
    """Secrets are write-only: the value goes in and never comes back out."""

    project = project_field(required=False, allow_null=True)
    value = serializers.CharField(write_only=True, style={"input_type": "password"}, trim_whitespace=False)
    scope = serializers.CharField(read_only=True)

    class Meta:
        model = Secret
        fields = ["id", "name", "project", "scope", "value", "created_at", "updated_at"]

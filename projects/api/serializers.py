from rest_framework import serializers

from projects import selectors
from projects.models import Bug, Event, Feature, Goal, Milestone, Project, Secret, Task


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
            "last_error", "result", "result_data", "prompt_tokens", "completion_tokens", "cost",
            "created_at", "updated_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = [
            "attempts", "claimed_by", "lease_expires_at", "blocked_reason", "last_error", "result",
            "result_data", "prompt_tokens", "completion_tokens", "cost", "created_at", "updated_at",
            "started_at", "finished_at",
        ]  # fmt: skip

    def validate_skills(self, value):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise serializers.ValidationError("Skills must be a list of strings.")
        return value

    def validate_environment(self, value):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise serializers.ValidationError("Environment must be an object of string values.")
        return value


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

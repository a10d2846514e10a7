from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from autopilot import selectors as autopilot_selectors
from autopilot.models import ApprovalRule, AutopilotRun, Plan, ReviewItem
from autopilot.services.runs import run_spent
from projects import selectors
from projects.api.serializers import ScopedRelatedField, project_field


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["number", "status", "data", "errors", "source", "cost", "approved_by", "approved_at", "created_at"]


class RunSerializer(serializers.ModelSerializer):
    goal_title = serializers.CharField(source="goal.title", read_only=True)
    allowed_transitions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = AutopilotRun
        fields = [
            "id", "project", "goal", "goal_title", "status", "allowed_transitions", "reason", "budget_cap",
            "parallelism", "auto_approve_plan", "created_by", "created_at", "updated_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = [f for f in fields if f not in ("budget_cap", "parallelism", "auto_approve_plan")]


class RunTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref = serializers.CharField(source="autopilot_link.ref")
    title = serializers.CharField()
    status = serializers.CharField()
    executor = serializers.CharField()
    priority = serializers.IntegerField()
    estimate = serializers.IntegerField()
    milestone = serializers.IntegerField(source="milestone_id", allow_null=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=6)


class RunDetailSerializer(RunSerializer):
    """One run with its plans, tasks, spend and goal progress (a few queries, for one object)."""

    spent = serializers.SerializerMethodField()
    plans = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "spent", "progress", "plans", "tasks"]

    def get_spent(self, run) -> str:
        return str(run_spent(run))

    def get_plans(self, run) -> list[dict]:
        return PlanSerializer(autopilot_selectors.run_plans(run), many=True).data

    def get_tasks(self, run) -> list[dict]:
        return RunTaskSerializer(autopilot_selectors.run_tasks(run), many=True).data

    def get_progress(self, run) -> dict:
        overview = autopilot_selectors.goal_overview(self.context["request"].user, goal_ids=[run.goal_id])
        return overview[0] if overview else {}


@extend_schema_field(OpenApiTypes.INT)
class GoalField(ScopedRelatedField):
    """A goal the user may read, by id."""


class RunStartSerializer(serializers.Serializer):
    goal = GoalField(selector=selectors.goal_list)
    budget_cap = serializers.DecimalField(
        max_digits=14, decimal_places=6, min_value=0, required=False, allow_null=True, default=None,
        help_text="USD; the run stops when its planning and tasks cost this.",
    )  # fmt: skip
    parallelism = serializers.IntegerField(min_value=1, max_value=50, required=False, default=2)
    auto_approve_plan = serializers.BooleanField(required=False, default=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReviewSerializer(serializers.ModelSerializer):
    task_title = serializers.CharField(source="task.title", read_only=True)
    task_status = serializers.CharField(source="task.status", read_only=True)
    decided_by = serializers.CharField(source="decided_by_label", read_only=True)

    class Meta:
        model = ReviewItem
        fields = [
            "id", "task", "task_title", "task_status", "project", "run", "attempt", "status", "executor", "result",
            "diff", "diff_stat", "log", "cost", "lines_changed", "decided_by", "decided_by_rule", "decided_at",
            "comment", "rework_task", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="",
                                    trim_whitespace=True)  # fmt: skip


class RuleSerializer(serializers.ModelSerializer):
    project = project_field(required=False, allow_null=True)

    class Meta:
        model = ApprovalRule
        fields = [
            "id", "name", "position", "enabled", "project", "executor", "max_cost", "max_lines_changed",
            "test_marker", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]


class MilestoneProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    done = serializers.IntegerField(help_text="Estimate of the tasks done.")
    total = serializers.IntegerField(help_text="Estimate of every task that is not cancelled.")
    tasks = serializers.IntegerField()
    progress = serializers.FloatField(help_text="done / total, 0–1.")


class GoalProgressSerializer(MilestoneProgressSerializer):
    project = serializers.IntegerField()
    project_name = serializers.CharField()
    milestones = MilestoneProgressSerializer(many=True)

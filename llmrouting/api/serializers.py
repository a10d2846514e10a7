from rest_framework import serializers

from llmrouting import limits
from llmrouting.models import Budget, Deployment, LLMCall, Provider, RoutingPolicy
from projects.api.serializers import project_field


class ProviderSerializer(serializers.ModelSerializer):
    """The API key is write-only: it goes to the encrypted vault and only `has_credential` comes back."""

    api_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=False, style={"input_type": "password"}
    )
    has_credential = serializers.SerializerMethodField()
    simulated = serializers.BooleanField(read_only=True)
    usage_this_minute = serializers.SerializerMethodField()
    deployment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Provider
        fields = [
            "id", "name", "kind", "simulated", "api_base", "api_key", "has_credential", "rpm_limit", "tpm_limit",
            "timeout_seconds", "enabled", "usage_this_minute", "deployment_count", "created_at", "updated_at",
        ]  # fmt: skip

    def get_has_credential(self, obj) -> bool:
        return obj.credential_id is not None

    def get_usage_this_minute(self, obj) -> dict:
        return limits.usage(obj) if limits.limited(obj) else {"requests": None, "tokens": None}


class HealthField(serializers.Serializer):
    state = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    open_until = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    last_failure_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)


class DeploymentSerializer(serializers.ModelSerializer):
    """Prices may be left out for models LiteLLM's price map knows; they are required otherwise."""

    input_price = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=0, required=False)
    output_price = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=0, required=False)
    context_window = serializers.IntegerField(min_value=1, required=False)
    breaker = serializers.SerializerMethodField()
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    simulated = serializers.BooleanField(source="provider.simulated", read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id", "provider", "provider_name", "simulated", "model", "tier", "context_window", "input_price",
            "output_price", "capabilities", "enabled", "failure_threshold", "cooldown_seconds", "breaker",
            "created_at", "updated_at",
        ]  # fmt: skip

    def get_breaker(self, obj) -> dict | None:
        health = getattr(obj, "health", None)
        return HealthField(health).data if health is not None else None


class LLMCallSerializer(serializers.ModelSerializer):
    provider_name = serializers.CharField(source="provider.name", read_only=True, default="")

    class Meta:
        model = LLMCall
        fields = [
            "id", "created_at", "request_id", "task", "project", "deployment", "provider", "provider_name", "model",
            "tier", "simulated", "attempt", "fallback_from", "prompt_tokens", "completion_tokens", "cost",
            "cost_source", "latency_ms", "outcome", "error", "reason", "kind",
        ]  # fmt: skip
        read_only_fields = fields


class BudgetSerializer(serializers.ModelSerializer):
    project = project_field(required=False, allow_null=True)
    spent = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = ["id", "project", "provider", "period", "limit_usd", "warn_ratio", "spent", "created_at"]

    def get_spent(self, obj) -> str:
        from llmrouting.budgets import spent

        return str(spent(obj))


class RoutingPolicySerializer(serializers.ModelSerializer):
    project = project_field()

    class Meta:
        model = RoutingPolicy
        fields = ["id", "project", "allowed_providers", "highest_tier", "retries", "max_fallbacks", "quality_target"]


class OutcomeSerializer(serializers.Serializer):
    call = serializers.PrimaryKeyRelatedField(queryset=LLMCall.objects.all(), required=False)
    task = serializers.IntegerField(required=False)
    quality = serializers.FloatField(min_value=0.0, max_value=1.0)

    def validate(self, attrs):
        if ("call" in attrs) == ("task" in attrs):
            raise serializers.ValidationError("Give either a call or a task.")
        return attrs

"""Thin API adapters for LLM routing: selectors for reads, services for writes."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from architect import roles
from architect.permissions import RolePermission
from llmrouting import selectors, services
from llmrouting.api import serializers
from llmrouting.models import Budget, LLMCall, RoutingPolicy
from projects.api.views import TrackerViewSet
from projects.selectors import task_list

ADMIN_ONLY = {roles.ADMIN}
MANAGERS = {roles.ADMIN, roles.MAINTAINER}


class ConfigViewSet(TrackerViewSet):
    """CRUD through the generic config services, so every change writes its event."""

    model = None
    create_service = staticmethod(services.config_create)
    update_service = staticmethod(services.config_update)
    delete_service = staticmethod(services.config_delete)

    def object_project_id(self, obj) -> int | None:
        return getattr(obj, "project_id", None)  # providers and deployments belong to no project


class ProviderViewSet(ConfigViewSet):
    serializer_class = serializers.ProviderSerializer
    write_roles = delete_roles = ADMIN_ONLY
    filterset_fields = ["kind", "enabled"]
    search_fields = ["name", "api_base"]
    ordering_fields = ["name", "kind", "created_at"]

    def get_queryset(self):
        return selectors.provider_list(self.request.user).order_by("name")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        api_key = data.pop("api_key", None)
        serializer.instance = services.provider_save(actor=self.request.user, fields=data, api_key=api_key)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        api_key = data.pop("api_key", None)
        serializer.instance = services.provider_save(
            actor=self.request.user, provider=serializer.instance, fields=data, api_key=api_key
        )


class DeploymentViewSet(ConfigViewSet):
    serializer_class = serializers.DeploymentSerializer
    write_roles = delete_roles = ADMIN_ONLY
    filterset_fields = ["provider", "tier", "enabled", "provider__kind"]
    search_fields = ["model", "provider__name"]
    ordering_fields = ["model", "tier", "input_price", "output_price", "created_at"]

    def get_queryset(self):
        return selectors.deployment_list(self.request.user).order_by("provider__name", "model")

    def perform_create(self, serializer):
        serializer.instance = services.deployment_create(actor=self.request.user, **serializer.validated_data)

    @extend_schema(request=None, responses=serializers.DeploymentSerializer)
    @action(detail=True, methods=["post"], url_path="reset-breaker")
    def reset_breaker(self, request, pk=None):
        """Close the deployment's circuit breaker by hand."""
        deployment = services.deployment_reset_breaker(self.get_object(), actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=deployment.pk)).data)


class LLMCallViewSet(viewsets.ReadOnlyModelViewSet):
    """The cost ledger: one row per attempt."""

    serializer_class = serializers.LLMCallSerializer
    filterset_fields = {
        "project": ["exact"],
        "task": ["exact"],
        "provider": ["exact"],
        "deployment": ["exact"],
        "outcome": ["exact", "in"],
        "simulated": ["exact"],
        "request_id": ["exact"],
        "created_at": ["gte", "lte"],
    }
    search_fields = ["model", "error", "reason"]
    ordering_fields = ["created_at", "cost", "latency_ms"]

    def get_queryset(self):
        return selectors.call_list(self.request.user)

    def object_project_id(self, obj):
        return obj.project_id


class BudgetViewSet(ConfigViewSet):
    model = Budget
    serializer_class = serializers.BudgetSerializer
    write_roles = delete_roles = MANAGERS
    filterset_fields = ["project", "provider", "period"]
    ordering_fields = ["created_at", "limit_usd"]

    def get_queryset(self):
        return selectors.budget_list(self.request.user).order_by("id")

    def object_project_id(self, obj):
        return obj.project_id


class RoutingPolicyViewSet(ConfigViewSet):
    model = RoutingPolicy
    serializer_class = serializers.RoutingPolicySerializer
    write_roles = delete_roles = MANAGERS
    many_fields = ("allowed_providers",)
    filterset_fields = ["project", "highest_tier"]
    ordering_fields = ["project"]

    def get_queryset(self):
        return selectors.policy_list(self.request.user).order_by("project_id")

    def object_project_id(self, obj):
        return obj.project_id


class OutcomeView(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Record a review outcome (quality 0–1) for a call or a task's latest answer; the router learns from it."""

    serializer_class = serializers.OutcomeSerializer
    write_roles = MANAGERS
    queryset = LLMCall.objects.none()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = data.get("call") or self._task(data["task"])
        outcome = services.routing_outcome_record(call_or_task=target, quality=data["quality"], actor=request.user)
        return Response({"id": outcome.pk, "deployment": outcome.deployment_id, "quality": outcome.quality},
                        status=status.HTTP_201_CREATED)  # fmt: skip

    def _task(self, task_id):
        task = task_list(self.request.user).filter(pk=task_id).first()
        if task is None:
            raise NotFound("No such task.")
        return task


class MetricsView(APIView):
    """The numbers behind /llm-metrics/: spend, rates, latency, breakers and budgets."""

    permission_classes = [RolePermission]

    @extend_schema(responses=dict)
    def get(self, request):
        try:
            days = int(request.query_params.get("days", 14))
        except ValueError:
            days = 14
        return Response(selectors.llm_metrics(request.user, days=days))

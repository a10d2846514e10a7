from django.urls import path
from rest_framework.routers import DefaultRouter

from llmrouting.api import views

router = DefaultRouter()
router.register("providers", views.ProviderViewSet, basename="llm-provider")
router.register("deployments", views.DeploymentViewSet, basename="llm-deployment")
router.register("calls", views.LLMCallViewSet, basename="llm-call")
router.register("budgets", views.BudgetViewSet, basename="llm-budget")
router.register("policies", views.RoutingPolicyViewSet, basename="llm-policy")
router.register("outcomes", views.OutcomeView, basename="llm-outcome")

urlpatterns = [path("metrics/", views.MetricsView.as_view(), name="llm-metrics-api"), *router.urls]

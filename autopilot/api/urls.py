from rest_framework.routers import DefaultRouter

from autopilot.api import views

router = DefaultRouter()
router.register("autopilot/runs", views.RunViewSet, basename="autopilot-run")
router.register("autopilot/rules", views.RuleViewSet, basename="approval-rule")
router.register("autopilot/goals", views.GoalProgressViewSet, basename="goal-progress")
router.register("reviews", views.ReviewViewSet, basename="review")

urlpatterns = router.urls

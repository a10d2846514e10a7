from rest_framework.routers import DefaultRouter

from projects.api import views

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("goals", views.GoalViewSet, basename="goal")
router.register("milestones", views.MilestoneViewSet, basename="milestone")
router.register("features", views.FeatureViewSet, basename="feature")
router.register("bugs", views.BugViewSet, basename="bug")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("events", views.EventViewSet, basename="event")
router.register("secrets", views.SecretViewSet, basename="secret")

urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

from sessions_pool.api import views

router = SimpleRouter()
router.register("agent-profiles", views.AgentProfileViewSet, basename="agent-profile")
router.register("sessions", views.AgentSessionViewSet, basename="agent-session")

urlpatterns = router.urls

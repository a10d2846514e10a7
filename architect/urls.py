from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from architect import health, metrics_api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("health/", health.health, name="health"),
    path("metrics", metrics_api.MetricsView.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/", include("projects.api.urls")),
    path("api/llm/", include("llmrouting.api.urls")),
    path("api/", include("sessions_pool.api.urls")),
    path("api/", include("autopilot.api.urls")),
    path("api/", include("cluster.api.urls")),
    path("", include("projects.urls")),
    path("", include("llmrouting.urls")),
    path("", include("sessions_pool.urls")),
    path("", include("autopilot.urls")),
    path("", include("cluster.urls")),
]

from django.urls import path

from sessions_pool import views

urlpatterns = [
    path("sessions/", views.session_panel, name="session-panel"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
]

from django.urls import path

from autopilot import views

urlpatterns = [
    path("autopilot/", views.autopilot_home, name="autopilot"),
    path("autopilot/runs/<int:pk>/", views.run_detail, name="autopilot-run"),
    path("reviews/", views.review_queue, name="reviews"),
]

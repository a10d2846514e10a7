from django.urls import path

from llmrouting import views

urlpatterns = [path("llm-metrics/", views.metrics_page, name="llm-metrics")]

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from architect import roles


def metrics_page(request):
    """/llm-metrics/: the page draws itself from /api/llm/metrics/ and refreshes on `llm.call` events."""
    if not roles.can_read(request.user):
        raise PermissionDenied("Your account has no role that may read LLM metrics.")
    return render(request, "llmrouting/metrics.html")

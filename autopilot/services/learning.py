"""The learning hook: review outcomes go to the LLM router through llmrouting's outcome service.

These are the rows the router's OutcomeLearner reads on its next decision, in every process, and
the same learner `routing_replay` measures. Only answers that went through the router can be rated;
work without a successful routed call (shell, agent) teaches the router nothing and is skipped.
"""

from django.core.exceptions import ValidationError

from projects.models import Task

APPROVED, CHANGES_REQUESTED, REJECTED = 1.0, 0.5, 0.0


def learn_from_task(task: Task, *, quality: float, actor) -> bool:
    """Rate TASK's latest successful LLM call; False when it has none."""
    from llmrouting.services import routing_outcome_record

    try:
        routing_outcome_record(call_or_task=task, quality=quality, actor=actor)
    except ValidationError:
        return False
    return True


def learn_from_request(request_id, *, quality: float, actor) -> bool:
    """Rate the successful call of one routed request (a plan); False when it has none."""
    from llmrouting.models import LLMCall
    from llmrouting.services import routing_outcome_record

    call = LLMCall.objects.filter(request_id=request_id, outcome="success").order_by("-id").first()
    if call is None or call.deployment_id is None:
        return False
    routing_outcome_record(call_or_task=call, quality=quality, actor=actor)
    return True

"""Writes for LLM routing configuration, and the review-outcome feed the router learns from.

Each write validates, saves and appends its event in one transaction. Provider keys go into the
encrypted vault (projects.Secret) and never into an event payload.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction

from llmrouting import breaker
from llmrouting.catalog import known_prices
from llmrouting.models import Deployment, DeploymentHealth, LLMCall, Provider, RoutingOutcome
from projects.models import Secret, Task
from projects.services.events import event_record
from projects.services.tracker import save_changes, save_new

SECRET_FIELDS = frozenset({"credential", "api_key"})


def _record(obj: models.Model, *, actor, verb: str, changed: list[str] | None = None) -> None:
    payload = {"id": obj.pk, "label": str(obj)}
    if changed is not None:
        payload["changed"] = sorted(set(changed) - SECRET_FIELDS) + (
            ["credential"] if SECRET_FIELDS & set(changed) else []
        )
    project_id = getattr(obj, "project_id", None)
    event_record(
        actor=actor, type=f"llm.{obj._meta.model_name}.{verb}", obj=obj, project_id=project_id, payload=payload
    )


@transaction.atomic
def config_create(model: type[models.Model], *, actor, fields: dict, many: dict | None = None):
    obj = save_new(model, fields=fields, many=many)
    if isinstance(obj, Deployment):
        DeploymentHealth.objects.get_or_create(deployment=obj)
    _record(obj, actor=actor, verb="created")
    return obj


@transaction.atomic
def config_update(obj: models.Model, *, actor, fields: dict, many: dict | None = None):
    changed = save_changes(obj, fields=fields, many=many)
    _record(obj, actor=actor, verb="updated", changed=changed)
    return obj


@transaction.atomic
def config_delete(obj: models.Model, *, actor) -> None:
    _record(obj, actor=actor, verb="deleted")
    obj.delete()


# --- providers: the key goes to the vault -------------------------------------------------------


@transaction.atomic
def provider_save(*, actor, provider: Provider | None = None, fields: dict, api_key: str | None = None) -> Provider:
    """Create or update a provider; API_KEY (if given) is stored encrypted as the provider's credential."""
    if api_key:
        fields = {**fields, "credential": _store_key(provider, fields.get("name") or provider.name, api_key)}
    if provider is None:
        return config_create(Provider, actor=actor, fields=fields)
    return config_update(provider, actor=actor, fields=fields)


def _store_key(provider: Provider | None, name: str, api_key: str) -> Secret:
    secret = provider.credential if provider is not None and provider.credential_id else None
    if secret is None:
        secret_name = f"llm-provider:{name}"
        secret = Secret.objects.filter(name=secret_name, project__isnull=True).first() or Secret(name=secret_name)
    secret.value = api_key
    secret.full_clean()
    secret.save()
    event_record(actor="llmrouting", type="secret.updated", obj=secret, payload={"name": secret.name})
    return secret


# --- deployments: prices from LiteLLM's map when known, required otherwise ----------------------


def with_known_prices(fields: dict) -> dict:
    """FIELDS with missing prices (and context window) taken from LiteLLM's price map when it knows the model."""
    if fields.get("input_price") is not None and fields.get("output_price") is not None:
        return fields
    known = known_prices(fields.get("model", ""))
    if known is None:
        raise ValidationError(
            {"input_price": "LiteLLM does not know this model's prices: give input and output $ per million tokens."}
        )
    input_price, output_price, window = known
    filled = {"input_price": input_price, "output_price": output_price}
    if window and not fields.get("context_window"):
        filled["context_window"] = window
    return {**filled, **{k: v for k, v in fields.items() if v is not None}}


def deployment_create(*, actor, **fields) -> Deployment:
    return config_create(Deployment, actor=actor, fields=with_known_prices(fields))


def deployment_reset_breaker(deployment: Deployment, *, actor) -> Deployment:
    breaker.reset(deployment, actor=actor)
    deployment.refresh_from_db()
    return deployment


# --- review outcomes: what the learner learns from ----------------------------------------------


@transaction.atomic
def routing_outcome_record(*, call_or_task: LLMCall | Task, quality: float, actor=None) -> RoutingOutcome:
    """Record how good a routed answer was (1 = approved, 0 = rejected, or a score in between).

    Given a task, the outcome applies to its latest successful call. The router's learner picks the
    row up on its next decision in every process.
    """
    call = _successful_call(call_or_task)
    outcome = RoutingOutcome(
        call=call,
        task_id=call.task_id,
        deployment_id=call.deployment_id,
        prompt=call.prompt,
        kind=call.kind,
        quality=float(quality),
        actor_label=str(getattr(actor, "username", actor) or "system"),
    )
    outcome.full_clean()
    outcome.save()
    _learner_has_news()  # this thread, before commit
    transaction.on_commit(_learner_has_news)  # other threads of this process, once visible
    event_record(
        actor=actor,
        type="llm.outcome",
        obj=outcome,
        project_id=call.project_id,
        payload={"call": call.pk, "task": call.task_id, "model": call.model, "quality": outcome.quality},
    )
    return outcome


def _learner_has_news() -> None:
    from llmrouting.router import shared_learner

    shared_learner.dirty = True


def _successful_call(call_or_task) -> LLMCall:
    if isinstance(call_or_task, LLMCall):
        call = call_or_task
    else:
        call = LLMCall.objects.filter(task=call_or_task, outcome="success").order_by("-id").first()
        if call is None:
            raise ValidationError({"task": "This task has no successful LLM call to rate."})
    if not call.succeeded or call.deployment_id is None:
        raise ValidationError({"call": "Only a successful call to an existing deployment can be rated."})
    return call

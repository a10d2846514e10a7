"""LLM routing data: providers, deployments, health, limits, policies, budgets and the call ledger."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from projects.models.base import Timestamped

MILLION = Decimal(1_000_000)


class ProviderKind(models.TextChoices):
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    OPENAI = "openai"
    OLLAMA = "ollama"
    ANYTHINGLLM = "anythingllm", "AnythingLLM (OpenAI-compatible)"
    PERPLEXITY = "perplexity", "Perplexity (web search)"
    DEMO = "demo", "Demo (simulated, offline)"


# Kinds that cannot work without an API key; local servers need an endpoint instead.
KINDS_NEEDING_KEY = frozenset({"anthropic", "gemini", "openai", "perplexity", "anythingllm"})
KINDS_NEEDING_BASE = frozenset({"ollama", "anythingllm"})


class Tier(models.TextChoices):
    CHEAP = "cheap"
    STANDARD = "standard"
    PREMIUM = "premium"


TIER_ORDER = [Tier.CHEAP, Tier.STANDARD, Tier.PREMIUM]
CAPABILITIES = ("code", "json", "vision", "web")


def tier_rank(tier: str) -> int:
    return TIER_ORDER.index(tier)


class Provider(Timestamped):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    api_base = models.CharField(max_length=500, blank=True, help_text="Endpoint; blank for the vendor's default.")
    credential = models.ForeignKey(
        "projects.Secret",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="llm_providers",
        help_text="The API key, kept encrypted in the vault.",
    )
    rpm_limit = models.PositiveIntegerField(default=0, help_text="Requests per minute; 0 = no limit.")
    tpm_limit = models.PositiveIntegerField(default=0, help_text="Tokens per minute; 0 = no limit.")
    timeout_seconds = models.FloatField(default=60.0, validators=[MinValueValidator(0.05)])
    enabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (simulated)" if self.simulated else self.name

    @property
    def simulated(self) -> bool:
        return self.kind == ProviderKind.DEMO

    def clean(self):
        super().clean()
        if not self.enabled:
            return
        # A form may carry a new key that is stored in the vault only when the provider is saved.
        if self.kind in KINDS_NEEDING_KEY and self.credential_id is None and not getattr(self, "pending_api_key", ""):
            raise ValidationError(
                {"credential": f"A {self.get_kind_display()} provider needs an API key to be enabled."}
            )
        if self.kind in KINDS_NEEDING_BASE and not self.api_base:
            raise ValidationError({"api_base": f"A {self.get_kind_display()} provider needs its endpoint URL."})


class Deployment(Timestamped):
    """One model reachable through one provider, with its tier, prices and capabilities."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="deployments")
    model = models.CharField(max_length=200, help_text="LiteLLM model string, e.g. openai/gpt-5-mini.")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    context_window = models.PositiveIntegerField(default=128_000, validators=[MinValueValidator(1)])
    input_price = models.DecimalField(
        "input $ per million tokens", max_digits=12, decimal_places=6, validators=[MinValueValidator(0)]
    )
    output_price = models.DecimalField(
        "output $ per million tokens", max_digits=12, decimal_places=6, validators=[MinValueValidator(0)]
    )
    capabilities = models.JSONField(default=list, blank=True, help_text=f"Any of {', '.join(CAPABILITIES)}.")
    enabled = models.BooleanField(default=True)
    failure_threshold = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)], help_text="Consecutive failures that open the breaker."
    )
    cooldown_seconds = models.FloatField(
        default=30.0, validators=[MinValueValidator(0)], help_text="How long an open breaker waits before a probe."
    )

    class Meta:
        ordering = ["provider__name", "model"]
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="unique_deployment_model")]

    def __str__(self) -> str:
        return f"{self.provider.name}: {self.model}"

    @property
    def is_paid(self) -> bool:
        return self.input_price > 0 or self.output_price > 0

    def price_of(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return (self.input_price * prompt_tokens + self.output_price * completion_tokens) / MILLION

    def clean(self):
        super().clean()
        unknown = sorted(set(self.capabilities or []) - set(CAPABILITIES)) if isinstance(self.capabilities, list) else 0
        if unknown or not isinstance(self.capabilities, list):
            raise ValidationError({"capabilities": f"Use a list of: {', '.join(CAPABILITIES)}."})


class BreakerState(models.TextChoices):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open", "half-open"


class DeploymentHealth(models.Model):
    """The circuit breaker of one deployment, shared by every process through conditional UPDATEs."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, primary_key=True, related_name="health")
    state = models.CharField(max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    probe_started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deployment health"

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.state}"


class RateWindow(models.Model):
    """Requests and tokens one provider used in one minute, counted by every process."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="rate_windows")
    window_start = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "window_start"], name="unique_rate_window")]

    def __str__(self) -> str:
        return f"{self.provider_id}@{self.window_start:%H:%M}"


class RoutingPolicy(Timestamped):
    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="routing_policy")
    allowed_providers = models.ManyToManyField(
        Provider, blank=True, related_name="policies", help_text="None selected: every enabled provider."
    )
    highest_tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.PREMIUM)
    retries = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(5)], help_text="Extra tries on the same deployment."
    )
    max_fallbacks = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(10)], help_text="Other deployments tried after the first."
    )
    quality_target = models.FloatField(
        default=0.95,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Aim for this share of the best model's estimated quality.",
    )

    class Meta:
        verbose_name_plural = "routing policies"

    def __str__(self) -> str:
        return f"Routing policy of {self.project}"


class BudgetPeriod(models.TextChoices):
    DAY = "day"
    MONTH = "month"
    TOTAL = "total"


class Budget(Timestamped):
    """A spending cap for one project or one provider; refuses calls when used up, warns at warn_ratio."""

    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="llm_budgets"
    )
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="budgets")
    period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH)
    limit_usd = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(0)])
    warn_ratio = models.FloatField(default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    warned_for = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Start of the period already warned about."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(project__isnull=True, provider__isnull=False)
                | models.Q(project__isnull=False, provider__isnull=True),
                name="budget_one_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope_label}: ${self.limit_usd} per {self.period}"

    @property
    def scope_label(self) -> str:
        return f"project {self.project}" if self.project_id else f"provider {self.provider}"

    def clean(self):
        super().clean()
        if (self.project_id is None) == (self.provider_id is None):
            raise ValidationError("A budget applies to exactly one project or one provider.")


class CallOutcome(models.TextChoices):
    SUCCESS = "success"
    RATE_LIMITED = "rate_limited", "rate limited (429)"
    SERVER_ERROR = "server_error", "server error"
    TIMEOUT = "timeout"
    BAD_RESPONSE = "bad_response", "malformed response"
    ERROR = "error"


class LLMCall(models.Model):
    """The cost ledger: one row per attempt sent to a provider, success or failure."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    request_id = models.UUIDField(db_index=True, help_text="Groups the attempts of one routed request.")
    task = models.ForeignKey(
        "projects.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    deployment = models.ForeignKey(Deployment, null=True, on_delete=models.SET_NULL, related_name="calls")
    provider = models.ForeignKey(Provider, null=True, on_delete=models.SET_NULL, related_name="calls")
    model = models.CharField(max_length=200)
    tier = models.CharField(max_length=10, choices=Tier.choices)
    simulated = models.BooleanField(default=False)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="1 for the first attempt of the request.")
    fallback_from = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The deployment that failed before this one.",
    )  # fmt: skip
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    cost_source = models.CharField(max_length=20, blank=True, help_text="litellm, configured prices or none.")
    latency_ms = models.FloatField(default=0.0)
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices)
    error = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text="Why the router chose this deployment.")
    kind = models.CharField(max_length=100, blank=True, help_text="Kind of request, for learning.")
    prompt = models.TextField(blank=True, help_text="The prompt (kept on successful calls, to learn from reviews).")

    class Meta:
        ordering = ["-id"]
        verbose_name = "LLM call"
        indexes = [
            # Budget and dashboard sums: spend of a project / provider since a period start.
            models.Index(fields=["project", "created_at"], name="llmcall_project_time_idx"),
            models.Index(fields=["provider", "created_at"], name="llmcall_provider_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model} #{self.attempt} {self.outcome}"

    @property
    def succeeded(self) -> bool:
        return self.outcome == CallOutcome.SUCCESS


class RoutingOutcome(models.Model):
    """A reviewed result of a routed call: what the learner learns from."""

    created_at = models.DateTimeField(auto_now_add=True)
    call = models.ForeignKey(LLMCall, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes")
    task = models.ForeignKey("projects.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="outcomes")
    prompt = models.TextField()
    kind = models.CharField(max_length=100, blank=True)
    quality = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    actor_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.quality:.2f}"

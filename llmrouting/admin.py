"""Admin for LLM routing: configuration through the services, the ledger read-only, keys write-only."""

from django import forms
from django.contrib import admin, messages

from architect.lib.service_admin import ServiceModelAdmin
from llmrouting import limits, services
from llmrouting.models import (
    Budget,
    Deployment,
    DeploymentHealth,
    LLMCall,
    Provider,
    RateWindow,
    RoutingOutcome,
    RoutingPolicy,
)


class ConfigAdmin(ServiceModelAdmin):
    """Saves and deletes through the config services, so events are written."""

    create_service = staticmethod(services.config_create)
    update_service = staticmethod(services.config_update)
    delete_service = staticmethod(services.config_delete)


class ProviderAdminForm(forms.ModelForm):
    api_key = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Write-only: stored encrypted in the vault. Leave blank to keep the current key.",
    )

    class Meta:
        model = Provider
        fields = ["name", "kind", "api_base", "api_key", "rpm_limit", "tpm_limit", "timeout_seconds", "enabled"]

    def clean(self):
        cleaned = super().clean()
        self.instance.pending_api_key = cleaned.get("api_key") or ""
        return cleaned

    def _update_errors(self, errors):
        # The model names the missing key "credential"; on this form it is typed into "api_key".
        if hasattr(errors, "error_dict") and "credential" in errors.error_dict:
            errors.error_dict["api_key"] = errors.error_dict.pop("credential")
        super()._update_errors(errors)


class DeploymentInline(admin.TabularInline):
    model = Deployment
    fields = ["model", "tier", "input_price", "output_price", "enabled"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Provider)
class ProviderAdmin(ConfigAdmin):
    form = ProviderAdminForm
    list_display = ["name", "kind_label", "enabled", "key", "api_base", "rpm_limit", "tpm_limit", "this_minute"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "api_base"]
    inlines = [DeploymentInline]

    @admin.display(description="Kind")
    def kind_label(self, obj) -> str:
        return obj.get_kind_display()

    @admin.display(description="API key")
    def key(self, obj) -> str:
        return "••••••••" if obj.credential_id else "—"

    @admin.display(description="Used this minute")
    def this_minute(self, obj) -> str:
        if not limits.limited(obj):
            return "no limit"
        used = limits.usage(obj)
        return f"{used['requests']} req, {used['tokens']} tok"

    def save_model(self, request, obj, form, change):
        concrete = {f.name for f in obj._meta.concrete_fields}
        fields = {name: getattr(obj, name) for name in form.cleaned_data if name in concrete}
        saved = services.provider_save(
            actor=request.user, provider=obj if change else None, fields=fields,
            api_key=form.cleaned_data.get("api_key") or None,
        )  # fmt: skip
        obj.pk = saved.pk


@admin.register(Deployment)
class DeploymentAdmin(ConfigAdmin):
    list_display = ["model", "provider", "tier", "input_price", "output_price", "context_window", "enabled",
                    "breaker_state"]  # fmt: skip
    list_filter = ["tier", "enabled", "provider__kind", "provider", "health__state"]
    search_fields = ["model", "provider__name"]
    list_select_related = ["provider", "health"]
    actions = ["reset_breakers"]

    @admin.display(description="Breaker", ordering="health__state")
    def breaker_state(self, obj) -> str:
        health = getattr(obj, "health", None)
        return health.get_state_display() if health else "closed"

    @admin.action(description="Close the breaker of the selected deployments")
    def reset_breakers(self, request, queryset):
        for deployment in queryset:
            services.deployment_reset_breaker(deployment, actor=request.user)
        messages.success(request, f"Closed {queryset.count()} breaker(s).")

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        concrete = {f.name for f in obj._meta.concrete_fields}
        fields = {name: getattr(obj, name) for name in form.cleaned_data if name in concrete}
        obj.pk = services.deployment_create(actor=request.user, **fields).pk


@admin.register(DeploymentHealth)
class DeploymentHealthAdmin(admin.ModelAdmin):
    list_display = ["deployment", "state", "consecutive_failures", "open_until", "last_failure_at", "last_success_at"]
    list_filter = ["state"]
    search_fields = ["deployment__model"]
    readonly_fields = [f.name for f in DeploymentHealth._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LLMCall)
class LLMCallAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "model", "provider", "simulated", "outcome", "attempt", "cost",
                    "prompt_tokens", "completion_tokens", "latency_ms", "project", "task"]  # fmt: skip
    list_filter = ["outcome", "simulated", "tier", "provider"]
    search_fields = ["model", "error", "reason", "request_id"]
    list_select_related = ["provider", "project", "task"]
    date_hierarchy = "created_at"
    exclude = ["prompt"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in LLMCall._meta.fields if f.name != "prompt"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Budget)
class BudgetAdmin(ConfigAdmin):
    list_display = ["id", "project", "provider", "period", "limit_usd", "spent", "warn_ratio"]
    list_filter = ["period", "provider"]
    search_fields = ["project__name", "provider__name"]

    @admin.display(description="Spent this period")
    def spent(self, obj) -> str:
        from llmrouting.budgets import spent

        return f"${spent(obj):.4f}"


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(ConfigAdmin):
    list_display = ["project", "highest_tier", "retries", "max_fallbacks", "quality_target"]
    list_filter = ["highest_tier"]
    search_fields = ["project__name"]
    filter_horizontal = ["allowed_providers"]


@admin.register(RoutingOutcome)
class RoutingOutcomeAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "deployment", "quality", "task", "actor_label"]
    list_filter = ["deployment"]
    search_fields = ["kind", "actor_label"]
    readonly_fields = ["call", "task", "deployment", "kind", "quality", "actor_label"]
    exclude = ["prompt"]

    def has_add_permission(self, request):
        return False


@admin.register(RateWindow)
class RateWindowAdmin(admin.ModelAdmin):
    list_display = ["provider", "window_start", "requests", "tokens"]
    list_filter = ["provider"]
    search_fields = ["provider__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

"""Admin for agent profiles (patterns and rules edited as data) and sessions (watched, stopped, restarted)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from sessions_pool import services, tmux
from sessions_pool.models import AgentProfile, AgentSession


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "label", "command", "enabled", "is_default", "min_sessions", "max_sessions",
                    "idle_timeout_seconds"]  # fmt: skip
    list_filter = ["enabled", "is_default", "submit_mode"]
    search_fields = ["name", "label", "command"]
    fieldsets = [
        (None, {"fields": ["name", "label", "command", "environment", "enabled", "is_default", "skills"]}),
        ("Prompt submission", {"fields": ["submit_mode", "prompt_template", "submit_keys", "interrupt_keys"]}),
        (
            "Screen detection (regular expressions, one list per state)",
            {
                "fields": [
                    "busy_patterns",
                    "idle_patterns",
                    "confirm_patterns",
                    "error_patterns",
                    "finished_patterns",
                    "token_patterns",
                ]
            },  # fmt: skip
        ),
        ("Auto-confirm (deny always wins)", {"fields": ["auto_confirm_rules", "deny_patterns"]}),
        ("Pool", {"fields": ["min_sessions", "max_sessions", "idle_timeout_seconds", "startup_timeout_seconds"]}),
    ]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.cleaned_data if name in services.PROFILE_FIELDS}
        if change:
            services.profile_update(obj, actor=request.user, **fields)
        else:
            obj.pk = services.profile_create(actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        services.profile_delete(obj, actor=request.user)


@admin.register(AgentSession)
class AgentSessionAdmin(admin.ModelAdmin):
    list_display = ["name", "profile", "state", "task", "alert_short", "last_activity_at", "restarts"]
    list_filter = ["state", "profile"]
    search_fields = ["name", "alert", "last_output"]
    list_select_related = ["profile", "task"]
    readonly_fields = [f.name for f in AgentSession._meta.fields]
    actions = ["stop_sessions", "restart_sessions"]

    def has_add_permission(self, request):
        return False  # the supervisor starts sessions (or POST /api/sessions/)

    def has_delete_permission(self, request, obj=None):
        return False  # stop them instead; the row is their history

    @admin.display(description="Alert")
    def alert_short(self, obj):
        return format_html("<strong>{}</strong>", obj.alert.splitlines()[-1][:80]) if obj.alert else ""

    @admin.action(description="Stop the selected sessions")
    def stop_sessions(self, request, queryset):
        for session in queryset.select_related("profile", "task"):
            services.session_stop(session, actor=request.user, reason="stopped in the admin")
        messages.success(request, f"Stopped {queryset.count()} session(s).")

    @admin.action(description="Restart the selected sessions")
    def restart_sessions(self, request, queryset):
        try:
            for session in queryset.select_related("profile", "task"):
                services.session_restart(session, actor=request.user, reason="restarted in the admin")
        except (ValidationError, tmux.TmuxError) as exc:
            messages.error(request, str(exc))

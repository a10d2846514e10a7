"""Admin for runs, plans, reviews and approval rules; every change goes through the services."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from architect.errors import DomainError
from autopilot.models import ApprovalRule, AutopilotRun, Plan, ReviewItem, RunTask
from autopilot.services import reviews, rules, runs


def _each(modeladmin, request, queryset, service, **kwargs) -> None:
    done = 0
    for obj in queryset:
        try:
            service(obj, actor=request.user, **kwargs)
            done += 1
        except (DomainError, ValidationError) as exc:
            message = exc.message if isinstance(exc, DomainError) else "; ".join(exc.messages)
            modeladmin.message_user(request, f"{obj}: {message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} updated.", messages.SUCCESS)


class PlanInline(admin.TabularInline):
    model = Plan
    extra = 0
    can_delete = False
    fields = ["number", "status", "source", "cost", "errors", "approved_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RunTaskInline(admin.TabularInline):
    model = RunTask
    extra = 0
    can_delete = False
    fields = ["ref", "task", "plan"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AutopilotRun)
class AutopilotRunAdmin(admin.ModelAdmin):
    list_display = ["id", "goal", "project", "status", "budget_cap", "parallelism", "created_by", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["goal__title", "reason"]
    raw_id_fields = ["goal"]
    readonly_fields = ["status", "reason", "created_by", "started_at", "finished_at", "created_at", "updated_at"]
    inlines = [PlanInline, RunTaskInline]
    actions = ["approve_plan", "pause", "resume", "abort", "replan"]
    SETTINGS = ["budget_cap", "parallelism", "auto_approve_plan"]

    def get_fields(self, request, obj=None):
        # A new run only needs its goal (the project follows); an existing one shows its state too.
        if obj is None:
            return ["goal", *self.SETTINGS]
        return ["project", "goal", "status", "reason", *self.SETTINGS, "created_by", "started_at", "finished_at"]

    def get_inlines(self, request, obj=None):
        return [] if obj is None else self.inlines

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["project", "goal", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in self.SETTINGS}
            runs.run_update(obj, actor=request.user, **fields)
        else:
            created = runs.run_start(actor=request.user, goal=obj.goal, budget_cap=obj.budget_cap,
                                     parallelism=obj.parallelism, auto_approve_plan=obj.auto_approve_plan)  # fmt: skip
            obj.pk = created.pk

    @admin.action(description="Approve the proposed plan")
    def approve_plan(self, request, queryset):
        _each(self, request, queryset, runs.run_approve)

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        _each(self, request, queryset, runs.run_pause, reason=f"Paused by {request.user.get_username()}.")

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        _each(self, request, queryset, runs.run_resume)

    @admin.action(description="Abort (cancel unfinished tasks)")
    def abort(self, request, queryset):
        _each(self, request, queryset, runs.run_abort, reason=f"Aborted by {request.user.get_username()}.")

    @admin.action(description="Re-plan (keep finished tasks)")
    def replan(self, request, queryset):
        _each(self, request, queryset, runs.run_replan)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "number", "status", "source", "cost", "created_at"]
    list_filter = ["status"]
    search_fields = ["raw", "source"]
    readonly_fields = [f.name for f in Plan._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "project", "run", "status", "executor", "cost", "lines_changed", "decided_by",
                    "decided_by_rule", "created_at"]  # fmt: skip
    list_filter = ["status", "executor", "project"]
    search_fields = ["task__title", "result", "comment"]
    readonly_fields = [f.name for f in ReviewItem._meta.fields]
    actions = ["approve"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Approve (tasks become done)")
    def approve(self, request, queryset):
        _each(self, request, queryset, reviews.review_approve)


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "enabled", "project", "executor", "max_cost", "max_lines_changed",
                    "test_marker"]  # fmt: skip
    list_filter = ["enabled", "executor", "project"]
    list_editable = ["position", "enabled"]
    search_fields = ["name", "test_marker"]

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in form.cleaned_data if name != "id"}
        if change:
            rules.rule_update(obj, actor=request.user, **fields)
        else:
            obj.pk = rules.rule_create(actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        rules.rule_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            rules.rule_delete(obj, actor=request.user)


@admin.register(RunTask)
class RunTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "ref", "task", "plan"]
    list_filter = ["run__status"]
    search_fields = ["ref", "task__title"]
    readonly_fields = ["run", "task", "ref", "plan"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

"""The admin is the primary data-entry tool; every save goes through the services."""

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User

from architect import roles
from architect.errors import DomainError
from architect.lib.service_admin import ServiceModelAdmin
from projects.models import Bug, Event, Feature, Goal, Milestone, Project, Secret, Task, TaskAttempt, TaskStatus
from projects.services import tasks as task_services
from projects.services import tracker

admin.site.site_header = "Architect administration"
admin.site.site_title = "Architect"
admin.site.index_title = "Projects, work and settings"
admin.site.site_url = "/board/"


class ServiceAdmin(AuditlogHistoryAdminMixin, ServiceModelAdmin):
    """Saves and deletes through the tracker services; shows django-auditlog history."""

    show_auditlog_history_link = True
    create_service = staticmethod(tracker.tracker_create)
    update_service = staticmethod(tracker.tracker_update)
    delete_service = staticmethod(tracker.tracker_delete)


class ProjectChildInline(admin.TabularInline):
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # children are added on their own pages, through the services


class GoalInline(ProjectChildInline):
    model = Goal
    fields = ["title", "status", "priority", "target_date"]
    readonly_fields = fields


class MilestoneInline(ProjectChildInline):
    model = Milestone
    fields = ["title", "goal", "status", "due_date"]
    readonly_fields = fields


class FeatureInline(ProjectChildInline):
    model = Feature
    fields = ["title", "milestone", "status"]
    readonly_fields = fields


class BugInline(ProjectChildInline):
    model = Bug
    fields = ["title", "severity", "status"]
    readonly_fields = fields


class TaskInline(ProjectChildInline):
    model = Task
    fields = ["title", "status", "priority", "executor", "attempts", "cost"]
    readonly_fields = fields
    fk_name = "project"


@admin.register(Project)
class ProjectAdmin(ServiceAdmin):
    list_display = ["name", "slug", "status", "owner", "repository", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["agents"]
    inlines = [GoalInline, MilestoneInline, FeatureInline, BugInline, TaskInline]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "agents":
            kwargs["queryset"] = User.objects.filter(groups__name=roles.AGENT).order_by("username")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change and obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)


@admin.register(Goal)
class GoalAdmin(ServiceAdmin):
    list_display = ["title", "project", "status", "priority", "target_date"]
    list_filter = ["status", "project"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["project"]


@admin.register(Milestone)
class MilestoneAdmin(ServiceAdmin):
    list_display = ["title", "project", "goal", "status", "due_date"]
    list_filter = ["status", "project"]
    search_fields = ["title"]
    autocomplete_fields = ["project", "goal"]


@admin.register(Feature)
class FeatureAdmin(ServiceAdmin):
    list_display = ["title", "project", "milestone", "status"]
    list_filter = ["status", "project"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["project", "milestone"]


@admin.register(Bug)
class BugAdmin(ServiceAdmin):
    list_display = ["title", "project", "severity", "status", "reported_by", "created_at"]
    list_filter = ["severity", "status", "project"]
    search_fields = ["title", "description", "steps_to_reproduce"]
    autocomplete_fields = ["project", "feature"]
    readonly_fields = ["reported_by"]


class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["project", "depends_on"]  # the admin's fieldsets add the rest

    def clean(self):
        cleaned = super().clean()
        depends_on = cleaned.get("depends_on")
        if depends_on and cleaned.get("project"):
            probe = self.instance if self.instance.pk else Task(project=cleaned["project"])
            probe.project = cleaned["project"]
            try:
                task_services.check_dependencies(probe, depends_on)
            except forms.ValidationError as exc:
                self.add_error("depends_on", exc.message_dict.get("depends_on"))
        return cleaned


class TaskAttemptInline(admin.TabularInline):
    model = TaskAttempt
    extra = 0
    can_delete = False
    fields = ["number", "runner", "outcome", "exit_status", "error", "log", "duration_seconds", "cost", "started_at",
              "finished_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(ServiceAdmin):
    form = TaskAdminForm
    list_display = ["title", "project", "status", "priority", "executor", "assignee", "attempts", "cost", "updated_at"]
    list_filter = ["status", "executor", "priority", "project"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["project", "goal", "milestone", "feature", "bug", "assignee"]
    filter_horizontal = ["depends_on"]
    inlines = [TaskAttemptInline]
    actions = ["queue_tasks", "cancel_tasks", "retry_tasks"]
    readonly_fields = [
        "attempts", "claimed_by", "lease_expires_at", "blocked_reason", "last_error", "result", "result_data",
        "prompt_tokens", "completion_tokens", "cost", "started_at", "finished_at",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["project", "title", "description", "status", "priority", "executor", "skills"]}),
        ("Links", {"fields": ["goal", "milestone", "feature", "bug", "depends_on", "assignee", "estimate"]}),
        ("Run context", {"fields": ["repository", "branch", "base_commit", "working_dir", "environment"]}),
        ("Limits", {"fields": ["max_attempts", "timeout_seconds", "not_before", "metadata"]}),
        ("Progress and result", {"fields": readonly_fields}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Status moves only through actions (queue, cancel) once the task exists.
        return [*self.readonly_fields, "status"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {n: getattr(obj, n) for n in self.concrete_field_names(form) if n != "status" or not change}
        if change:
            task_services.task_update(obj, actor=request.user, **fields)
        else:
            obj.pk = task_services.task_create(actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        task_services.task_delete(obj, actor=request.user)

    @admin.action(description="Queue selected tasks (move to ready)", permissions=["change"])
    def queue_tasks(self, request, queryset):
        self._move(request, queryset, TaskStatus.READY)

    @admin.action(description="Cancel selected tasks", permissions=["change"])
    def cancel_tasks(self, request, queryset):
        self._move(request, queryset, TaskStatus.CANCELLED, service=task_services.task_cancel)

    @admin.action(description="Retry selected failed or cancelled tasks", permissions=["change"])
    def retry_tasks(self, request, queryset):
        self._move(request, queryset, TaskStatus.READY, service=task_services.task_retry)

    def _move(self, request, queryset, status: str, service=None) -> None:
        moved, refused = 0, []
        for task in queryset:
            try:
                if service is not None:
                    service(task, actor=request.user, reason="admin action")
                else:
                    task_services.task_transition(task, to=status, actor=request.user, reason="admin action")
                moved += 1
            except DomainError as exc:
                refused.append(f"{task.title}: {exc.message}")
        self.message_user(request, f"{moved} task(s) moved to {status}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "type", "actor_label", "object_type", "object_id", "project"]
    list_filter = ["type", "object_type", "project"]
    search_fields = ["type", "object_id", "actor_label"]
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SecretAdminForm(forms.ModelForm):
    """The value is write-only: the form never renders the stored value."""

    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave blank to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["name", "project", "value"]

    def clean_value(self):
        value = self.cleaned_data["value"]
        if not value and not self.instance.pk:
            raise forms.ValidationError("A new secret needs a value.")
        return value or self.instance.value


@admin.register(Secret)
class SecretAdmin(ServiceAdmin):
    form = SecretAdminForm
    list_display = ["name", "scope", "project", "masked_value", "updated_at"]
    list_filter = ["project"]
    search_fields = ["name"]
    autocomplete_fields = ["project"]

    @admin.display(description="Value")
    def masked_value(self, obj) -> str:
        return "••••••••"

"""A ModelAdmin whose saves and deletes go through service functions, so events are written."""

from django.contrib import admin


class ServiceModelAdmin(admin.ModelAdmin):
    """Subclasses name the services: create(model, *, actor, fields), update(obj, …), delete(obj, …)."""

    list_per_page = 50
    create_service = None
    update_service = None
    delete_service = None

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in self.concrete_field_names(form)}
        if change:
            type(self).update_service(obj, actor=request.user, fields=fields)
        else:
            obj.pk = type(self).create_service(type(obj), actor=request.user, fields=fields).pk

    def delete_model(self, request, obj):
        type(self).delete_service(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    @staticmethod
    def concrete_field_names(form) -> list[str]:
        concrete = {f.name for f in form._meta.model._meta.concrete_fields}
        return [name for name in form.cleaned_data if name in concrete]

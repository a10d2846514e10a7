from django.db import models


class Timestamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SameProjectLinks:
    """Model mixin: the optional links named in PROJECT_LINKS must stay inside the project."""

    PROJECT_LINKS: tuple[str, ...] = ()

    def clean(self):
        from django.core.exceptions import ValidationError

        super().clean()
        errors = {}
        for name in self.PROJECT_LINKS:
            linked = getattr(self, name)
            if linked is not None and linked.project_id != self.project_id:
                errors[name] = f"{linked._meta.verbose_name.capitalize()} {linked.pk} belongs to another project."
        if errors:
            raise ValidationError(errors)

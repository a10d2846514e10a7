from django.core.management.base import BaseCommand
from django.db import transaction
from django_q.models import Schedule as QSchedule

from architect.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create or update the periodic jobs Architect needs (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        for schedule in SCHEDULES:
            QSchedule.objects.update_or_create(
                name=schedule.name,
                defaults={"func": schedule.func, "schedule_type": QSchedule.MINUTES, "minutes": schedule.minutes},
            )
            self.stdout.write(f"Schedule '{schedule.name}': {schedule.func} every {schedule.minutes} min")
        self.stdout.write(self.style.SUCCESS(f"{len(SCHEDULES)} schedule(s) in place."))

from django.core.management.base import BaseCommand

from projects.demo import seed_demo
from projects.models import Project


class Command(BaseCommand):
    help = "Load demo data (a project with goals, milestones, bugs and tasks) when the database has no projects."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even when projects exist.")

    def handle(self, *args, force, **options):
        if Project.objects.exists() and not force:
            self.stdout.write("Projects exist; demo data not loaded (use --force to load anyway).")
            return
        seed_demo("demo")
        self.stdout.write(self.style.SUCCESS("Loaded demo data: see /board/ and /admin/."))

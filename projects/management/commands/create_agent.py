from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from architect import roles
from projects.models import Project


class Command(BaseCommand):
    help = "Create (or update) an agent account attached to projects, and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--project", action="append", default=[], metavar="SLUG", help="Project the agent may work on (repeat)."
        )
        parser.add_argument("--rotate", action="store_true", help="Replace the agent's existing token.")

    @transaction.atomic
    def handle(self, *args, username, project, rotate, **options):
        projects = list(Project.objects.filter(slug__in=project))
        missing = sorted(set(project) - {p.slug for p in projects})
        if missing:
            raise CommandError(f"No project with slug: {', '.join(missing)}")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(Group.objects.get_or_create(name=roles.AGENT)[0])
        for item in projects:
            item.agents.add(user)
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"{'Created' if created else 'Updated'} agent '{username}'.")
        self.stdout.write(f"Token: {token.key}")
        self.stdout.write(f"Use it as: Authorization: Token {token.key}")

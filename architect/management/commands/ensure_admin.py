import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from architect import roles


class Command(BaseCommand):
    help = (
        "Create the first admin if there is none and print how to log in. Uses DJANGO_SUPERUSER_USERNAME "
        "and DJANGO_SUPERUSER_PASSWORD when set; otherwise generates a password and shows it once."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        login_url = (
            f"http://{os.environ.get('ARCHITECT_HOST', '127.0.0.1')}:{os.environ.get('ARCHITECT_PORT', '8000')}/login/"
        )
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(f"An admin account exists; log in at {login_url}")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        shown = password is None
        password = password or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(
            username=username, email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password=password
        )
        user.groups.add(Group.objects.get_or_create(name=roles.ADMIN)[0])
        self.stdout.write(self.style.SUCCESS("Created the first admin account."))
        self.stdout.write(f"  Log in at {login_url} as '{username}'")
        if shown:
            self.stdout.write(f"  Password (shown only this once): {password}")

"""Shared fixtures: one user per role, API clients that authenticate like real clients."""

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from architect import roles
from projects.models import Project


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, role: str | None, **extra) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def admin_user(db):
    return make_user("alice-admin", roles.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def maintainer(db):
    return make_user("mia-maintainer", roles.MAINTAINER, is_staff=True)


@pytest.fixture
def viewer(db):
    return make_user("vic-viewer", roles.VIEWER, is_staff=True)


@pytest.fixture
def project(db):
    return Project.objects.create(name="Alpha", slug="alpha")


@pytest.fixture
def other_project(db):
    return Project.objects.create(name="Beta", slug="beta")


@pytest.fixture
def agent(db, project):
    user = make_user("bot-agent", roles.AGENT)
    project.agents.add(user)
    return user


@pytest.fixture
def api(admin_user):
    """An admin's token client, for tests about behaviour rather than permissions."""
    return token_client(admin_user)


@pytest.fixture
def clients(admin_user, maintainer, viewer, agent):
    return {
        "anonymous": APIClient(),
        "viewer": token_client(viewer),
        "maintainer": token_client(maintainer),
        "agent": token_client(agent),
        "admin": token_client(admin_user),
    }

"""Shared fixtures: one user per role, API clients that authenticate like real clients."""

import os

import pytest
from django.contrib.auth.models import Group, User
from pytest_django.plugin import blocking_manager_key
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from architect import roles
from projects.models import Project

SEEDING_MIGRATIONS = [
    ("projects.migrations.0002_roles", "create_roles"),
    ("llmrouting.migrations.0002_seed_providers", "seed"),
    ("sessions_pool.migrations.0002_seed_profiles", "seed"),
    ("llmrouting.migrations.0003_role_permissions", "grant_roles"),
    ("sessions_pool.migrations.0003_role_permissions", "grant_roles"),
    ("autopilot.migrations.0003_role_permissions", "grant_roles"),
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After each test: empty the Redis job queue, and put back the seeded rows a flush removed.

    A rollback or flush empties the ORM broker's queue; jobs left in Redis's would run in a
    later test's qcluster, against rows that are gone. pytest-django runs transactional tests
    last in one process, but under pytest-xdist they interleave with the others, which expect
    the rows data migrations seed. After the hook's yield every fixture, the flush included,
    has torn down.
    """
    yield
    from tests.processes import clear_redis_job_queue

    clear_redis_job_queue()
    if nextitem is None or not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # serial runs keep transactional tests last; after the last one the database is gone
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if "transactional_db" in fixtures or "live_server" in fixtures or (marker and marker.kwargs.get("transaction")):
        with item.config.stash[blocking_manager_key].unblock():
            reseed()


@pytest.fixture(scope="session", autouse=True)
def fresh_redis_namespace():
    """Start from an empty Redis namespace, as from an empty test database: earlier runs left jobs,
    undelivered messages, and killed daphnes' members in the board group."""
    from tests.processes import clear_redis_namespace

    clear_redis_namespace()


@pytest.fixture(scope="session", autouse=True)
def warm_fork_server(request):
    """When integration tests will run, start their fork server while the quick tests run first."""
    if any(item.get_closest_marker("integration") for item in request.session.items):
        request.getfixturevalue("django_db_setup")
        from tests import processes

        processes.warm_up()


def reseed() -> None:
    import importlib

    from django.apps import apps

    for module, function in SEEDING_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)


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


@pytest.fixture(scope="module")
def chromium_browser():
    from tests.browser import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def browser(chromium_browser):
    """The module's headless Chromium; the pages a test opens are closed after it."""
    yield chromium_browser
    for context in chromium_browser.contexts:
        context.close()


@pytest.fixture(scope="module")
def daphne_server(django_db_setup):
    from tests.processes import Daphne

    server = Daphne().start()
    yield server
    server.stop()


@pytest.fixture
def daphne(daphne_server):
    """The module's real daphne on the test database, running (a test before may have stopped it)."""
    if not daphne_server.running:
        daphne_server.start()
    return daphne_server

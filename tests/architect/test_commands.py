import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from projects.models import Project, Task


def run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_create_agent_prints_a_token_that_works_for_its_project_only(project, other_project):
    output = run("create_agent", "ci-bot", "--project", project.slug)
    token = re.search(r"Token: (\w+)", output).group(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    slugs = [row["slug"] for row in client.get("/api/projects/").json()["results"]]
    assert slugs == [project.slug]


def test_create_agent_refuses_unknown_projects(db):
    with pytest.raises(CommandError, match="no-such"):
        run("create_agent", "bot", "--project", "no-such")
    assert not User.objects.filter(username="bot").exists()


def test_ensure_admin_creates_one_admin_once(db, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    first = run("ensure_admin")
    password = re.search(r"Password \(shown only this once\): (\S+)", first).group(1)
    assert User.objects.get(username="admin").check_password(password)
    second = run("ensure_admin")
    assert "exists" in second and password not in second
    assert User.objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_uses_the_environment(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-env-123")
    output = run("ensure_admin")
    assert "from-env-123" not in output
    assert User.objects.get(username="root").check_password("from-env-123")


def test_seed_demo_loads_once(db):
    run("seed_demo")
    assert Project.objects.filter(slug="demo").exists()
    tasks = Task.objects.count()
    assert tasks >= 3
    assert "not loaded" in run("seed_demo")
    assert Task.objects.count() == tasks

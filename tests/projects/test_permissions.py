"""Who may do what through the API: role × resource × action → status."""

import pytest

from tests.projects import factories

ROLES = ["anonymous", "viewer", "maintainer", "agent", "admin"]
ACTIONS = ["list", "retrieve", "create", "update", "delete"]


def build(resource, project):
    makers = {
        "projects": lambda: project,
        "goals": lambda: factories.make_goal(project),
        "milestones": lambda: factories.make_milestone(project),
        "features": lambda: factories.make_feature(project),
        "bugs": lambda: factories.make_bug(project),
        "tasks": lambda: factories.make_task(project),
        "secrets": lambda: factories.make_secret(project, name="TOKEN"),
    }
    return makers[resource]()


def create_payload(resource, project):
    payloads = {
        "projects": {"name": "New", "slug": "new-project"},
        "goals": {"project": project.id, "title": "G"},
        "milestones": {"project": project.id, "title": "M"},
        "features": {"project": project.id, "title": "F"},
        "bugs": {"project": project.id, "title": "B", "severity": "high"},
        "tasks": {"project": project.id, "title": "T", "priority": 3},
        "secrets": {"name": "NEW_KEY", "project": project.id, "value": "v"},
    }
    return payloads[resource]


UPDATE_PAYLOADS = {
    "projects": {"description": "changed"},
    "goals": {"title": "changed"},
    "milestones": {"title": "changed"},
    "features": {"title": "changed"},
    "bugs": {"title": "changed"},
    "tasks": {"title": "changed"},
    "secrets": {"value": "rotated"},
}

SUCCESS = {"list": 200, "retrieve": 200, "create": 201, "update": 200, "delete": 204}


def expected_status(role, resource, action):
    if role == "anonymous":
        return 401
    if action in ("list", "retrieve"):
        if role == "agent" and resource == "secrets" and action == "retrieve":
            return 404  # agents see no secrets at all
        return 200
    if role == "admin":
        return SUCCESS[action]
    if role == "viewer":
        return 403
    if role == "maintainer":
        if resource == "secrets" or (resource == "projects" and action == "delete"):
            return 403
        return SUCCESS[action]
    # agent: files and updates bugs, updates its tasks; nothing else.
    if (resource, action) in {("bugs", "create"), ("bugs", "update"), ("tasks", "update")}:
        return SUCCESS[action]
    return 403


CASES = [
    (role, resource, action)
    for resource in ["projects", "goals", "milestones", "features", "bugs", "tasks", "secrets"]
    for role in ROLES
    for action in ACTIONS
]


@pytest.mark.parametrize(("role", "resource", "action"), CASES, ids=["-".join(c) for c in CASES])
def test_role_matrix(clients, project, role, resource, action):
    client = clients[role]
    obj = build(resource, project)
    url = f"/api/{resource}/"
    detail = f"{url}{obj.pk}/"
    if action == "list":
        response = client.get(url)
    elif action == "retrieve":
        response = client.get(detail)
    elif action == "create":
        response = client.post(url, create_payload(resource, project), format="json")
    elif action == "update":
        response = client.patch(detail, UPDATE_PAYLOADS[resource], format="json")
    else:
        response = client.delete(detail)
    assert response.status_code == expected_status(role, resource, action), response.content


@pytest.mark.parametrize("resource", ["goals", "milestones", "features", "bugs", "tasks"])
def test_agent_never_sees_other_projects(clients, project, other_project, resource):
    mine = build(resource, project)
    theirs = build(resource, other_project)
    listed = clients["agent"].get(f"/api/{resource}/").json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert clients["agent"].get(f"/api/{resource}/{theirs.pk}/").status_code == 404
    # Where the agent may write at all, another project's row does not exist for it.
    expected = 404 if resource in ("bugs", "tasks") else 403
    assert (
        clients["agent"].patch(f"/api/{resource}/{theirs.pk}/", {"title": "x"}, format="json").status_code == expected
    )


def test_agent_cannot_file_a_bug_in_another_project(clients, other_project):
    response = clients["agent"].post("/api/bugs/", {"project": other_project.id, "title": "x"}, format="json")
    assert response.status_code == 400
    assert "project" in response.json()


def test_agent_lists_only_its_projects(clients, project, other_project):
    listed = clients["agent"].get("/api/projects/").json()["results"]
    assert [row["slug"] for row in listed] == [project.slug]


def test_user_without_role_reads_nothing(db, project):
    from tests.conftest import make_user, token_client

    client = token_client(make_user("nobody", None))
    assert client.get("/api/projects/").status_code == 403

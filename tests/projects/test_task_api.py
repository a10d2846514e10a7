"""The task engine over HTTP: pull-mode claim and reports, queue/cancel/retry, attempts."""

import pytest

from projects.models import Task, TaskStatus
from tests.conftest import make_user, token_client
from tests.projects.factories import make_task


@pytest.fixture(autouse=True)
def no_backoff_wait(settings):
    settings.ARCHITECT_RETRY_BASE_SECONDS = 0


def claim(client, executors=("external",), **body):
    return client.post("/api/tasks/claim/", {"executors": list(executors), **body}, format="json")


def test_an_agent_claims_heartbeats_reports_and_completes_an_external_task(clients, project):
    agent = clients["agent"]
    task = make_task(project, status=TaskStatus.READY, executor="external", priority=7)
    response = claim(agent, skills=["python"], lease_seconds=120)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["claimed_by"]) == (task.pk, "claimed", "api:bot-agent")
    assert claim(agent).status_code == 204  # nothing else is ready

    beat = agent.post(f"/api/tasks/{task.pk}/heartbeat/", {}, format="json")
    assert beat.status_code == 200 and beat.json()["status"] == "running"
    progress = agent.post(f"/api/tasks/{task.pk}/progress/", {"progress": 40, "note": "tests pass", "log": "step 1\n"})
    assert progress.status_code == 200 and progress.json()["progress"] == 40
    done = agent.post(
        f"/api/tasks/{task.pk}/complete/",
        {"result": "Fixed it", "data": {"commit": "abc123"}, "cost": "0.25", "prompt_tokens": 100},
        format="json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "review" and done.json()["result"] == "Fixed it"
    task.refresh_from_db()
    assert task.result_data["commit"] == "abc123" and str(task.cost) == "0.250000" and task.prompt_tokens == 100
    attempts = agent.get(f"/api/tasks/{task.pk}/attempts/").json()
    assert [(a["number"], a["outcome"], a["runner"]) for a in attempts] == [(1, "succeeded", "api:bot-agent")]
    assert attempts[0]["log"] == "step 1\n"


def test_an_agent_claims_only_tasks_of_its_projects(clients, project, other_project):
    make_task(other_project, status=TaskStatus.READY, executor="external", priority=10)
    mine = make_task(project, status=TaskStatus.READY, executor="external", priority=1)
    assert claim(clients["agent"]).json()["id"] == mine.pk
    assert claim(clients["agent"]).status_code == 204


def test_claim_respects_skills(clients, project):
    task = make_task(project, status=TaskStatus.READY, executor="external", skills=["rust"])
    assert claim(clients["agent"], skills=["python"]).status_code == 204
    assert claim(clients["agent"], skills=["python", "rust"]).json()["id"] == task.pk


def test_claim_validates_its_input(clients):
    assert claim(clients["agent"], executors=[]).status_code == 400
    response = claim(clients["agent"], executors=["teleport"])
    assert response.status_code == 400 and "executors" in response.json()
    assert claim(clients["agent"], lease_seconds=1).status_code == 400


def test_viewers_cannot_claim_and_anonymous_users_cannot_either(clients, project):
    make_task(project, status=TaskStatus.READY, executor="external")
    assert claim(clients["viewer"]).status_code == 403
    assert claim(clients["anonymous"]).status_code in (401, 403)


def test_only_the_claiming_runner_may_report(clients, project):
    task = make_task(project, status=TaskStatus.READY, executor="external")
    claim(clients["agent"])
    intruder = make_user("bot-two", "agent")
    project.agents.add(intruder)
    response = token_client(intruder).post(f"/api/tasks/{task.pk}/complete/", {"result": "mine"}, format="json")
    assert response.status_code == 409 and "not held" in response.json()["detail"]
    assert Task.objects.get(pk=task.pk).status == TaskStatus.CLAIMED


def test_an_agent_cannot_touch_tasks_of_other_projects(clients, other_project):
    task = make_task(other_project, status=TaskStatus.READY, executor="external")
    assert clients["agent"].post(f"/api/tasks/{task.pk}/heartbeat/", {}, format="json").status_code == 404


def test_a_reported_failure_is_retried_then_fails_for_good(clients, project):
    agent = clients["agent"]
    task = make_task(project, status=TaskStatus.READY, executor="external", max_attempts=2)
    claim(agent)
    first = agent.post(f"/api/tasks/{task.pk}/fail/", {"error": "flaky network"}, format="json")
    assert first.status_code == 200 and first.json()["status"] == "ready"
    claim(agent)
    second = agent.post(f"/api/tasks/{task.pk}/fail/", {"error": "still broken"}, format="json")
    assert second.json()["status"] == "failed" and second.json()["last_error"] == "still broken"
    attempts = agent.get(f"/api/tasks/{task.pk}/attempts/").json()
    assert [(a["outcome"], a["error"]) for a in attempts] == [("failed", "flaky network"), ("failed", "still broken")]


def test_a_non_retryable_failure_fails_at_once(clients, project):
    task = make_task(project, status=TaskStatus.READY, executor="external", max_attempts=5)
    claim(clients["agent"])
    response = clients["agent"].post(f"/api/tasks/{task.pk}/fail/", {"error": "bad spec", "retryable": False})
    assert response.json()["status"] == "failed"


def test_people_queue_cancel_and_retry(clients, project):
    maintainer = clients["maintainer"]
    task = make_task(project)
    assert maintainer.post(f"/api/tasks/{task.pk}/queue/").json()["status"] == "ready"
    assert maintainer.post(f"/api/tasks/{task.pk}/cancel/", {"reason": "later"}).json()["status"] == "cancelled"
    retried = maintainer.post(f"/api/tasks/{task.pk}/retry/")
    assert retried.json()["status"] == "ready" and retried.json()["attempts"] == 0
    refused = maintainer.post(f"/api/tasks/{task.pk}/retry/")
    assert refused.status_code == 409 and refused.json()["current"] == "ready"


def test_agents_and_viewers_cannot_queue_cancel_or_retry(clients, project):
    task = make_task(project)
    for role in ("agent", "viewer"):
        for verb in ("queue", "cancel", "retry"):
            assert clients[role].post(f"/api/tasks/{task.pk}/{verb}/").status_code == 403, (role, verb)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.BACKLOG


def test_heartbeat_after_the_task_was_taken_away_answers_409(clients, project):
    task = make_task(project, status=TaskStatus.READY, executor="external")
    claim(clients["agent"])
    clients["maintainer"].post(f"/api/tasks/{task.pk}/cancel/")
    response = clients["agent"].post(f"/api/tasks/{task.pk}/heartbeat/", {}, format="json")
    assert response.status_code == 409 and response.json()["status"] == "cancelled"


def test_progress_out_of_range_is_a_400(clients, project):
    task = make_task(project, status=TaskStatus.READY, executor="external")
    claim(clients["agent"])
    response = clients["agent"].post(f"/api/tasks/{task.pk}/progress/", {"progress": 140}, format="json")
    assert response.status_code == 400 and "progress" in response.json()

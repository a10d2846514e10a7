"""The review queue and approval rules through the API: decisions, rework, rules, permissions."""

from decimal import Decimal

import pytest

from autopilot.models import ApprovalRule, ReviewItem
from autopilot.services.reviews import collect_waiting, review_collect
from autopilot.services.rules import lines_changed
from projects.models import Event, Task

DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n-old\n+new\n+more\n context\n"


@pytest.fixture
def reviewed_task(project):
    """A task that finished an attempt and waits in review, as the engine leaves it."""
    return Task.objects.create(project=project, title="Change app", status="review", executor="shell", attempts=1,
                               result="ran; TESTS PASSED", cost=Decimal("0.02"),
                               result_data={"diff": DIFF, "diff_stat": "app.py | 3 ++-"})  # fmt: skip


def test_every_task_in_review_gets_one_item(reviewed_task):
    assert collect_waiting() == 1
    assert collect_waiting() == 0  # idempotent
    item = ReviewItem.objects.get()
    assert (item.attempt, item.lines_changed, item.diff_stat, item.cost) == (1, 3, "app.py | 3 ++-", Decimal("0.02"))
    assert item.status == "pending"  # no rules: nothing is auto-approved
    assert Event.objects.filter(type="review.created", object_id=str(item.pk)).exists()


def test_lines_changed_ignores_file_headers():
    assert lines_changed(DIFF) == 3
    assert lines_changed("") == 0


@pytest.mark.parametrize(
    ("conditions", "approved"),
    [
        ({"executor": "shell"}, True),
        ({"executor": "llm"}, False),
        ({"max_cost": Decimal("0.02")}, True),
        ({"max_cost": Decimal("0.01")}, False),
        ({"max_lines_changed": 3}, True),
        ({"max_lines_changed": 2}, False),
        ({"test_marker": "TESTS PASSED"}, True),
        ({"test_marker": "ALL GREEN"}, False),
        ({"executor": "shell", "max_cost": Decimal("0.01")}, False),  # every condition must hold
    ],
)
def test_rule_conditions(reviewed_task, conditions, approved):
    rule = ApprovalRule.objects.create(name="r", **conditions)
    item = review_collect(reviewed_task)
    item.refresh_from_db()
    assert (item.status == "approved") is approved
    assert (item.decided_by_rule == rule) is approved
    assert Task.objects.get(pk=reviewed_task.pk).status == ("done" if approved else "review")


def test_project_condition_and_first_match_wins(reviewed_task, other_project, project):
    ApprovalRule.objects.create(name="other project", project=other_project, position=1)
    ApprovalRule.objects.create(name="disabled", executor="shell", position=2, enabled=False)
    second = ApprovalRule.objects.create(name="this project", project=project, position=3)
    ApprovalRule.objects.create(name="also matches", executor="shell", position=4)
    item = review_collect(reviewed_task)
    assert ReviewItem.objects.get(pk=item.pk).decided_by_rule == second


def test_rule_without_conditions_is_refused(clients):
    response = clients["maintainer"].post("/api/autopilot/rules/", {"name": "everything"}, format="json")
    assert response.status_code == 400
    assert "would approve every review" in str(response.json())
    response = clients["maintainer"].post("/api/autopilot/rules/", {"name": "llm", "executor": "llm",
                                                                      "max_cost": "0.10"}, format="json")  # fmt: skip
    assert response.status_code == 201
    assert clients["viewer"].post("/api/autopilot/rules/", {"name": "x", "executor": "llm"}).status_code == 403
    assert clients["agent"].get("/api/autopilot/rules/").json()["count"] == 0


def test_approve_through_the_api(clients, reviewed_task, maintainer):
    item = review_collect(reviewed_task)
    assert clients["viewer"].get("/api/reviews/?status=pending").json()["count"] == 1
    assert clients["viewer"].post(f"/api/reviews/{item.pk}/approve/").status_code == 403
    assert clients["agent"].post(f"/api/reviews/{item.pk}/approve/").status_code == 403
    response = clients["maintainer"].post(f"/api/reviews/{item.pk}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert Task.objects.get(pk=reviewed_task.pk).status == "done"
    again = clients["maintainer"].post(f"/api/reviews/{item.pk}/approve/")
    assert again.status_code == 409 and "already decided" in again.json()["detail"]


def test_reject_requires_a_comment_and_creates_linked_rework(clients, reviewed_task, project):
    dependent = Task.objects.create(project=project, title="After", status="backlog")
    dependent.depends_on.add(reviewed_task)
    item = review_collect(reviewed_task)
    response = clients["maintainer"].post(f"/api/reviews/{item.pk}/reject/", {"comment": "  "}, format="json")
    assert response.status_code == 400 and "comment" in response.json()
    response = clients["maintainer"].post(f"/api/reviews/{item.pk}/reject/", {"comment": "Use a list."}, format="json")
    assert response.status_code == 200
    rework = Task.objects.get(pk=response.json()["rework_task"])
    assert rework.title == "Rework: Change app" and "Use a list." in rework.description
    assert rework.status == "ready"  # not part of a run: queued at once
    assert Task.objects.get(pk=reviewed_task.pk).status == "cancelled"
    # Work waiting for the rejected task now waits for its rework instead of being blocked.
    dependent.refresh_from_db()
    assert dependent.status == "backlog" and list(dependent.depends_on.all()) == [rework]


def test_request_changes_sends_the_task_back_with_the_comment(clients, reviewed_task):
    reviewed_task.description = "echo hi"
    reviewed_task.save()
    item = review_collect(reviewed_task)
    response = clients["admin"].post(f"/api/reviews/{item.pk}/request_changes/", {"comment": "Louder."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "changes_requested"
    task = Task.objects.get(pk=reviewed_task.pk)
    assert task.status == "ready"
    assert task.metadata["review_comments"] == ["Louder."] and task.metadata["command"] == "echo hi"
    # Its next attempt in review is a new item.
    Task.objects.filter(pk=task.pk).update(status="review", attempts=2)
    assert review_collect(Task.objects.get(pk=task.pk)).attempt == 2


def test_agents_read_only_their_projects_reviews(clients, reviewed_task, other_project):
    review_collect(reviewed_task)
    other = Task.objects.create(project=other_project, title="Elsewhere", status="review", attempts=1)
    review_collect(other)
    assert clients["agent"].get("/api/reviews/").json()["count"] == 1
    assert clients["viewer"].get("/api/reviews/").json()["count"] == 2
    assert clients["anonymous"].get("/api/reviews/").status_code in (401, 403)


def test_reviews_page_shows_a_readable_diff(maintainer, reviewed_task, client):
    review_collect(reviewed_task)
    client.force_login(maintainer)
    html = client.get("/reviews/").content.decode()
    assert '<span class="d-add">+new</span>' in html and '<span class="d-del">-old</span>' in html
    assert '<span class="d-hunk">@@ -1,2 +1,2 @@</span>' in html
    assert "Reject (rework)" in html and "ran; TESTS PASSED" in html


def test_viewer_sees_the_queue_without_buttons(viewer, reviewed_task, client):
    review_collect(reviewed_task)
    client.force_login(viewer)
    html = client.get("/reviews/").content.decode()
    assert "Change app" in html and "Reject (rework)" not in html


def test_unauthenticated_pages_redirect_to_login(client):
    assert client.get("/reviews/").status_code == 302
    assert client.get("/autopilot/").status_code == 302


def test_a_decided_item_for_a_moved_task_is_refused(clients, reviewed_task):
    item = review_collect(reviewed_task)
    Task.objects.filter(pk=reviewed_task.pk).update(status="cancelled")
    answer = clients["maintainer"].post(f"/api/reviews/{item.pk}/approve/")
    assert answer.status_code == 409 and "no longer waiting" in answer.json()["detail"]


def test_admin_rules_are_saved_through_the_services(admin_user, client):
    client.force_login(admin_user)
    form = {"name": "small llm", "position": 5, "enabled": "on", "executor": "llm", "max_cost": "0.05",
            "max_lines_changed": "", "test_marker": ""}  # fmt: skip
    assert client.post("/admin/autopilot/approvalrule/add/", form).status_code == 302
    rule = ApprovalRule.objects.get()
    assert (rule.executor, rule.max_cost) == ("llm", Decimal("0.05"))
    assert Event.objects.filter(type="review.rule.created", object_id=str(rule.pk)).exists()
    empty = {**form, "name": "all", "executor": "", "max_cost": ""}
    response = client.post("/admin/autopilot/approvalrule/add/", empty)
    assert response.status_code == 200 and "would approve every review" in response.content.decode()


def test_items_of_tasks_that_moved_on_leave_the_queue(clients, reviewed_task):
    from autopilot.loop import RunLoop
    from projects.services.tasks import task_cancel

    item = review_collect(reviewed_task)
    task_cancel(reviewed_task, actor="someone on the board")
    RunLoop().step()
    item.refresh_from_db()
    assert item.status == "closed" and item.decided_by is None
    assert clients["viewer"].get("/api/reviews/?status=pending").json()["count"] == 0
    assert Event.objects.filter(type="review.closed", object_id=str(item.pk)).exists()

"""Lists: constant query counts, filtering, search, ordering, pagination."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.projects import factories

RESOURCES = ["projects", "goals", "milestones", "features", "bugs", "tasks", "events", "secrets"]


def fill(project, n):
    fill.calls = getattr(fill, "calls", 0) + 1  # secret names are unique per project
    goal = factories.make_goal(project)
    milestone = factories.make_milestone(project, goal=goal)
    previous = None
    for i in range(n):
        factories.make_goal(project, title=f"g{i}")
        factories.make_milestone(project, title=f"m{i}")
        factories.make_feature(project, title=f"f{i}", milestone=milestone)
        factories.make_bug(project, title=f"b{i}")
        factories.make_secret(project, name=f"S{fill.calls}-{i}")
        previous = factories.make_task(
            project, title=f"t{i}", milestone=milestone, depends_on=[previous] if previous else None
        )


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("resource", RESOURCES)
def test_list_query_count_does_not_grow_with_rows(api, project, resource):
    fill(project, 2)
    few = count_queries(api, f"/api/{resource}/")
    fill(project, 10)
    many = count_queries(api, f"/api/{resource}/")
    assert many == few


def test_filter_search_order_and_paginate_tasks(api, project, other_project):
    for i in range(5):
        factories.make_task(project, title=f"alpha {i}", priority=i)
    factories.make_task(other_project, title="beta", priority=9)
    by_project = api.get(f"/api/tasks/?project={project.id}&ordering=-priority").json()
    assert [t["priority"] for t in by_project["results"]] == [4, 3, 2, 1, 0]
    assert api.get("/api/tasks/?search=beta").json()["count"] == 1
    assert api.get("/api/tasks/?priority__gte=3").json()["count"] == 3
    page = api.get("/api/tasks/?page_size=2&page=2&ordering=priority").json()
    assert page["count"] == 6 and [t["priority"] for t in page["results"]] == [2, 3]


def test_milestone_progress_is_weighted_by_estimate(api, project):
    milestone = factories.make_milestone(project)
    factories.make_task(project, milestone=milestone, estimate=3)
    done = factories.make_task(project, milestone=milestone, estimate=1, status="ready")
    done.status = "done"
    done.save()
    body = api.get(f"/api/milestones/{milestone.pk}/").json()
    assert body["progress"] == 0.25
    assert body["task_count"] == 2


def test_schema_is_served(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/tasks/" in response.content


def test_cancelled_tasks_do_not_count_towards_milestone_progress(api, project):
    milestone = factories.make_milestone(project)
    done = factories.make_task(project, milestone=milestone, estimate=1, status="ready")
    dropped = factories.make_task(project, milestone=milestone, estimate=5)
    done.status = "done"
    done.save()
    dropped.status = "cancelled"
    dropped.save()
    body = api.get(f"/api/milestones/{milestone.pk}/").json()
    assert body["progress"] == 1.0
    assert body["task_count"] == 1

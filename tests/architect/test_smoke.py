def test_health_is_public_and_reports_every_part(client, db):
    response = client.get("/health/")
    assert response.status_code == 200, response.content
    assert set(response.json()["checks"]) == {"database", "migrations", "channel_layer", "broker"}
    assert response.json()["status"] == "ok"


def test_api_task_create_round_trip(api, project):
    response = api.post("/api/tasks/", {"project": project.id, "title": "Write docs", "priority": 7}, format="json")
    assert response.status_code == 201, response.content
    listed = api.get("/api/tasks/").json()
    assert [t["title"] for t in listed["results"]] == ["Write docs"]

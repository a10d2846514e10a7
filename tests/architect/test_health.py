from django.db import connection


def test_health_answers_503_naming_the_part_that_is_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["broker"].startswith("down:")
    assert body["checks"]["database"] == "ok"


def test_health_reports_unapplied_migrations(client, db, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: ["pending"])
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 migrations not applied"


def test_health_needs_no_login_and_touches_the_database(client, db, django_assert_max_num_queries):
    assert connection.vendor in ("sqlite", "postgresql")
    with django_assert_max_num_queries(10):
        assert client.get("/health/").status_code == 200

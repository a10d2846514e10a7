"""Field-level history on domain models; secret values never leave the vault."""

import json
import logging

from auditlog.models import LogEntry
from django.db import connection

from projects.models import Event, Secret
from tests.projects import factories

PLAINTEXT = "sk-live-very-secret-value-42"


def test_audit_records_who_changed_which_field(api, project, admin_user):
    task = factories.make_task(project, title="before")
    assert api.patch(f"/api/tasks/{task.pk}/", {"title": "after"}, format="json").status_code == 200
    entry = LogEntry.objects.get_for_object(task).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert entry.actor == admin_user
    assert entry.changes_dict["title"] == ["before", "after"]


def test_every_domain_model_is_audited(project):
    goal = factories.make_goal(project)
    bug = factories.make_bug(project)
    for obj in (project, goal, bug):
        assert LogEntry.objects.get_for_object(obj).exists(), obj


def test_secret_value_is_encrypted_at_rest(project):
    secret = factories.make_secret(project, value=PLAINTEXT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM projects_secret WHERE id = %s", [secret.pk])
        stored = cursor.fetchone()[0]
    assert PLAINTEXT not in stored
    assert Secret.objects.get(pk=secret.pk).value == PLAINTEXT


def test_secret_value_never_leaks(api, client, admin_user, project, caplog):
    caplog.set_level(logging.DEBUG)
    created = api.post("/api/secrets/", {"name": "OPENAI", "project": project.id, "value": PLAINTEXT}, format="json")
    assert created.status_code == 201
    secret_id = created.json()["id"]
    api.patch(f"/api/secrets/{secret_id}/", {"value": PLAINTEXT + "-rotated"}, format="json")
    client.force_login(admin_user)
    pages = [
        api.get("/api/secrets/").content,
        api.get(f"/api/secrets/{secret_id}/").content,
        created.content,
        api.get("/api/events/").content,
        client.get("/admin/projects/secret/").content,
        client.get(f"/admin/projects/secret/{secret_id}/change/").content,
        client.get(f"/admin/projects/secret/{secret_id}/auditlog/").content,
    ]
    audit = json.dumps([entry.changes for entry in LogEntry.objects.all()])
    events = json.dumps([event.payload for event in Event.objects.all()])
    for text in [*(page.decode() for page in pages), audit, events, caplog.text]:
        assert PLAINTEXT not in text
    assert Secret.objects.get(pk=secret_id).value == PLAINTEXT + "-rotated"


def test_admin_secret_form_keeps_value_when_left_blank(client, admin_user, project):
    secret = factories.make_secret(project, name="KEEP", value=PLAINTEXT)
    client.force_login(admin_user)
    response = client.post(
        f"/admin/projects/secret/{secret.pk}/change/", {"name": "KEEP", "project": project.pk, "value": ""}
    )
    assert response.status_code == 302, response.content[:2000]
    assert Secret.objects.get(pk=secret.pk).value == PLAINTEXT

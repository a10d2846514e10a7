"""Login, logout, idle expiry and rate limits."""

import pytest
from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from tests.conftest import make_user, token_client


@pytest.fixture
def person(db):
    return make_user("pat", "maintainer", is_staff=True)


def login(client, password):
    return client.post("/login/", {"username": "pat", "password": password})


@pytest.mark.parametrize("path", ["/board/", "/admin/", "/"])
def test_pages_need_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_login_page_logs_in_and_logout_logs_out(client, person):
    assert client.get("/login/").status_code == 200
    response = login(client, "pw-pat")
    assert response.status_code == 302
    assert client.get("/board/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/board/").status_code == 302


def test_idle_sessions_expire_and_activity_extends_them(client, person):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    login(client, "pw-pat")
    client.get("/board/")
    assert 29 * 60 < client.session.get_expiry_age() <= 30 * 60


def test_repeated_failed_logins_lock_the_account(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "wrong").status_code == 200  # the form again, with an error
    assert login(client, "wrong").status_code == 429
    locked = login(client, "pw-pat")  # even the right password, while locked
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert client.get("/board/").status_code == 302


def test_wrong_password_shows_an_error(client, person):
    response = login(client, "wrong")
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_api_is_rate_limited(person, monkeypatch):
    from django.core.cache import cache

    cache.clear()  # earlier tests' requests count against the same per-user window
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})
    client = token_client(person)
    statuses = [client.get("/api/projects/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_bad_token_is_a_401_not_a_redirect(client, db):
    response = client.get("/api/projects/", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_metrics_need_auth_and_speak_prometheus(api, project, client, db):
    assert client.get("/metrics").status_code == 401
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "architect_tasks" in response.content.decode()


def test_api_docs_page_needs_no_cdn(client, person):
    client.force_login(person)
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html and "unpkg" not in html

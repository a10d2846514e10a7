"""Every app's admin pages are open to the roles that may see them, and closed to others."""

import pytest

PAGES = ["/admin/llmrouting/llmcall/", "/admin/sessions_pool/agentsession/", "/admin/autopilot/reviewitem/"]


@pytest.mark.parametrize("page", PAGES)
def test_staff_roles_read_every_apps_admin(client, maintainer, viewer, page):
    for user in (maintainer, viewer):
        client.force_login(user)
        assert client.get(page).status_code == 200, (user, page)


def test_viewer_cannot_add_in_other_apps(client, viewer):
    client.force_login(viewer)
    assert client.get("/admin/autopilot/approvalrule/add/").status_code == 403


def test_maintainer_manages_approval_rules(client, maintainer):
    client.force_login(maintainer)
    assert client.get("/admin/autopilot/approvalrule/add/").status_code == 200

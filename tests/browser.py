"""Debian's Chromium through Playwright, for the tests that use the pages as a person would."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "e2e-" + secrets.token_hex(6)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, with the ORM still usable in this thread.

    Playwright's sync API keeps an event loop in the calling thread, which makes
    Django refuse plain sync ORM calls unless DJANGO_ALLOW_ASYNC_UNSAFE is set.
    """
    saved = {name: os.environ.get(name) for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "NO_PROXY")}
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")  # loopback servers, whatever proxy is set
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def with_password(user):
    """Give USER the password PASSWORD, hashed so a server process (default hashers, no MD5) accepts it."""
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user


def log_in(browser: Browser, base_url: str, user, path: str, **page_options) -> Page:
    """A new page that asked for PATH, went through /login/ as USER, and landed back on PATH."""
    page = browser.new_page(**page_options)
    page.goto(base_url + path)
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + path)
    return page

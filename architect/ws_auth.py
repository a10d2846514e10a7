"""Websocket authentication: browser sessions (origin-checked) or agent tokens.

A browser sends its session cookie, so a page on another site could open a
socket as the user: those connections must pass the origin check. An agent
authenticates with `Authorization: Token <key>`, a header no browser page can
set on a websocket, so token connections need no Origin (most non-browser
clients send none).
"""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


def token_from_headers(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin1").partition(" ")
            return key.strip() if scheme.lower() == "token" else ""
    return None


@database_sync_to_async
def user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenOrSessionAuth:
    """Route token-bearing connections around the origin check; everything else through it."""

    def __init__(self, inner):
        self.inner = inner
        self.session_app = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        key = token_from_headers(scope)
        if key is None:
            return await self.session_app(scope, receive, send)
        user = await user_for_token(key) if key else AnonymousUser()
        scope = {**scope, "user": user, "auth_token": key}
        return await self.inner(scope, receive, send)

"""ASGI entry point: HTTP (with static files) and websockets, served by daphne."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from architect.routing import websocket_urlpatterns  # noqa: E402
from architect.ws_auth import TokenOrSessionAuth  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Static files are served by the app itself so `make run` needs no web server in front.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        # Sessions pass the allowed-hosts origin check; agent tokens (a header) need none.
        "websocket": TokenOrSessionAuth(URLRouter(websocket_urlpatterns)),
    }
)

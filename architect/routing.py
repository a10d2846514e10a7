"""Every app's websocket routes, combined for architect.asgi."""

from projects.routing import websocket_urlpatterns as project_routes

websocket_urlpatterns = [*project_routes]

"""Every app's websocket routes, combined for architect.asgi."""

from autopilot.routing import websocket_urlpatterns as autopilot_routes
from cluster.routing import websocket_urlpatterns as cluster_routes
from llmrouting.routing import websocket_urlpatterns as llm_routes
from projects.routing import websocket_urlpatterns as project_routes
from sessions_pool.routing import websocket_urlpatterns as session_routes

websocket_urlpatterns = [*project_routes, *llm_routes, *session_routes, *autopilot_routes, *cluster_routes]

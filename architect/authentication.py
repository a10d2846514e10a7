"""DRF token authentication that also tells django-auditlog who the actor is.

AuditlogMiddleware captures the user before DRF authenticates a token, so
without this every API change made with a token would be audited as anonymous.
"""

from auditlog.context import auditlog_value
from rest_framework.authentication import TokenAuthentication


class AuditedTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            try:
                auditlog_value.get()["actor"] = result[0]
            except LookupError:
                pass  # no request context (not under AuditlogMiddleware)
        return result

"""Shared DRF pieces: pagination and the error format every endpoint uses."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from architect.errors import DomainError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc, context):
    """DRF's handler, plus domain and model validation errors as 4xx JSON."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, **exc.details}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=_validation_detail(exc))
    return drf_exception_handler(exc, context)


def _validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    return {"detail": exc.messages}


def bad_request(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)

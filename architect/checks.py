"""Start-up checks that Django's own checks do not cover."""

from cryptography.fernet import InvalidToken
from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connection

KEY_ERROR_ID = "architect.E001"


def encryption_key_problem() -> str | None:
    """Why FIELD_ENCRYPTION_KEY cannot decrypt the stored secrets, or None.

    django-encrypted-model-fields hands back the ciphertext as the value when
    the key is wrong; reading one raw row catches that before anything uses it.
    """
    from encrypted_model_fields.fields import decrypt_str

    from projects.models import Secret

    table = connection.ops.quote_name(Secret._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {table} LIMIT 1")  # noqa: S608 (table name from the model)
            row = cursor.fetchone()
    except DatabaseError:
        return None  # not migrated yet: nothing to decrypt
    if row is None:
        return None
    try:
        decrypt_str(row[0])
    except InvalidToken:
        return (
            "FIELD_ENCRYPTION_KEY cannot decrypt the secrets stored in the database. "
            "Restore the key that encrypted them (the field_encryption_key file in ARCHITECT_DATA_DIR, "
            "or the FIELD_ENCRYPTION_KEY environment variable)."
        )
    return None


@register(Tags.security)
def check_encryption_key(app_configs=None, **kwargs):
    problem = encryption_key_problem()
    return [Error(problem, id=KEY_ERROR_ID)] if problem else []

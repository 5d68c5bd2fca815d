"""Secrets at rest: tenant API keys and destination credentials are stored encrypted.

The key is derived from SECRET_KEY (HKDF, fixed context), so no second secret has
to be managed; rotating SECRET_KEY makes stored secrets unreadable, and they then
read as empty (the environment's value applies) until someone enters them again.
"""
import base64
import logging

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)

# Every Fernet token starts with its version byte 0x80 and a timestamp: in base64, "gAAAAA".
_TOKEN_PREFIX = "gAAAAA"


def _fernet() -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"leadhub provider api keys").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt_secret(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt_secret(token: str) -> str:
    """The plain value; raises InvalidToken when SECRET_KEY changed since it was stored."""
    return _fernet().decrypt(token.encode()).decode() if token else ""


def mask_secret(value: str) -> str:
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) > 8 else "••••"


class EncryptedTextField(models.TextField):
    """Text that is encrypted in the database and plain on the model instance.

    A value stored before the column was encrypted (not a token) is read as it is
    and encrypted on the next save. A token that no longer decrypts (SECRET_KEY was
    rotated) reads as "" and is logged, without its value.
    """

    def from_db_value(self, value, expression, connection):
        if not value or not value.startswith(_TOKEN_PREFIX):
            return value
        try:
            return decrypt_secret(value)
        except InvalidToken:
            logger.warning("%s.%s cannot be decrypted with the current SECRET_KEY; enter it again",
                           self.model.__name__, self.name)
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt_secret(value) if value else value

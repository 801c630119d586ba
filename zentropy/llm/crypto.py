"""Keys derived from Settings.secret_key: encryption of users' provider keys at rest (AES-GCM, bound
to the user and provider), and the opaque per-user id sent to providers as `user`."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


def derive_key(secret_key: str | None, purpose: str) -> bytes:
    if not secret_key:
        raise RuntimeError("ZENTROPY_SECRET_KEY is not set")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"zentropy/llm/{purpose}".encode()).derive(secret_key.encode())


def _aad(user_id: uuid.UUID | str, provider: str) -> bytes:
    return f"{uuid.UUID(str(user_id))}:{provider}".encode()


def encrypt_user_key(secret_key: str | None, user_id: uuid.UUID | str, provider: str, plaintext: str) -> bytes:
    """nonce || ciphertext; decrypting it for another user or provider fails."""
    nonce = os.urandom(NONCE_BYTES)
    box = AESGCM(derive_key(secret_key, "user-keys"))
    return nonce + box.encrypt(nonce, plaintext.encode(), _aad(user_id, provider))


def decrypt_user_key(secret_key: str | None, user_id: uuid.UUID | str, provider: str, blob: bytes) -> str:
    """Raises cryptography.exceptions.InvalidTag if the blob was not made for this user and provider
    with this secret key."""
    box = AESGCM(derive_key(secret_key, "user-keys"))
    return box.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(user_id, provider)).decode()


def opaque_user_id(secret_key: str | None, user_id: uuid.UUID | str) -> str:
    """Stable per user, unlinkable to the user id without the secret key."""
    digest = hmac.new(derive_key(secret_key, "user-id"), str(uuid.UUID(str(user_id))).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]

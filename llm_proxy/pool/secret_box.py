"""Secrets at rest in a shared store: AES-GCM, with a key derived from the operator's material.

Every process that shares the store and the material (ENCRYPTION_KEY, else ADMIN_TOKEN)
derives the same key, so each can read what another wrote; a dump of the store holds
ciphertext only. The key's id is bound into each ciphertext, so one key's secret cannot
be swapped into another's record.
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class SecretBox:
    def __init__(self, material: str):
        derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"llm-proxy/secrets/v1",
                       info=b"llm-proxy key pool").derive(material.encode("utf-8"))
        self._aead = AESGCM(derived[:32])
        self._mac_key = derived[32:]
        self._plain: dict[str, str] = {}  # ciphertext → secret: decrypted once per process

    def seal(self, secret: str, key_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode("utf-8"), key_id.encode())
        return base64.b64encode(sealed).decode("ascii")

    def open(self, sealed: str, key_id: str) -> str | None:
        """The secret, or None when it was sealed with other material (or tampered with)."""
        cached = self._plain.get(sealed)
        if cached is not None:
            return cached
        try:
            raw = base64.b64decode(sealed)
            secret = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                        key_id.encode()).decode("utf-8")
        except (InvalidTag, ValueError):
            return None
        if len(self._plain) > 10_000:
            self._plain.clear()
        self._plain[sealed] = secret
        return secret

    def digest(self, *parts: str) -> str:
        """A keyed digest of `parts`: equal inputs match, and it tells nothing of them."""
        mac = hmac.HMAC(self._mac_key, hashes.SHA256())
        mac.update("\0".join(parts).encode("utf-8"))
        return mac.finalize().hex()[:32]

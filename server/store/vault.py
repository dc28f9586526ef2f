"""Customer contact data at rest: encrypted with a list of keys, and a keyed hash for matching.

A contact (name, phone, e-mail, ID number, agent) is stored as one Fernet token
(AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package). The keys come from
``BRANCHQ_DATA_KEYS``, a comma-separated list of Fernet keys (``branchq secret --data``
prints one): the first encrypts, every one decrypts (:class:`~cryptography.fernet.MultiFernet`),
so a new key is put first, ``branchq complaints rekey`` re-encrypts every contact under it,
and the old key can then be dropped. Without the setting (demo, development) one key is
derived from ``BRANCHQ_SECRET_KEY`` (HKDF-SHA256).

The phone (else the e-mail) is also kept as an HMAC-SHA256 under a key of its own, so
that repeat complainants, duplicates and per-contact rate limits work without decrypting
anything; that key does not rotate with the data keys (it is derived from the secret key,
or ``BRANCHQ_CONTACT_HASH_KEY``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive(secret: bytes, purpose: str) -> bytes:
    """32 bytes for ``purpose`` from ``secret`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret)


class Vault:
    """Encrypts and decrypts contacts, and hashes a phone or e-mail for matching."""

    def __init__(self, keys: list[bytes], hash_key: bytes) -> None:
        if not keys:
            raise ValueError("at least one data key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._primary = Fernet(keys[0])
        self._hash_key = hash_key

    @classmethod
    def from_secret(cls, secret: bytes, data_keys: list[str] | None = None, hash_key: str | None = None) -> Vault:
        """The vault of the settings: ``data_keys`` when given, else one key derived from ``secret``."""
        keys = [k.strip().encode() for k in (data_keys or []) if k.strip()]
        if not keys:
            keys = [base64.urlsafe_b64encode(derive(secret, "branchq contact data"))]
        hashing = hash_key.encode() if hash_key else derive(secret, "branchq contact hash")
        return cls(keys, hashing)

    @classmethod
    def ephemeral(cls) -> Vault:
        """Keys of this process only (tests; a server always builds its vault from its settings)."""
        return cls([Fernet.generate_key()], os.urandom(32))

    def seal(self, contact: dict[str, Any]) -> str:
        return self._primary.encrypt(orjson.dumps(contact)).decode("ascii")

    def open(self, token: str) -> dict[str, Any]:
        try:
            value = orjson.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken:
            raise ValueError("the contact was sealed under a key this server does not hold") from None
        assert isinstance(value, dict)
        return value

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the first key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def fingerprint(self, phone: str | None, email: str | None) -> str | None:
        """The keyed hash of the phone (digits only, without a leading 86), else of the e-mail."""
        if phone:
            digits = "".join(ch for ch in phone if ch.isdigit())
            if len(digits) == 13 and digits.startswith("86"):
                digits = digits[2:]
            subject = "phone:" + digits
        elif email:
            subject = "email:" + email.strip().lower()
        else:
            return None
        return hmac.new(self._hash_key, subject.encode(), hashlib.sha256).hexdigest()

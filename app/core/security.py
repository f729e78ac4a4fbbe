"""API keys: hashed at rest, looked up by hash, so a leaked configuration leaks no key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def hash_api_key(key: str) -> str:
    """The sha256 hex digest under which ``CHRONORAG_API_KEYS`` stores a key.

    A plain (unsalted) hash is enough here: keys are long random strings, not passwords, so
    there is nothing to brute-force, and an unsalted digest lets one dict lookup find the key.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def tenant_for_key(api_keys: Mapping[str, str], key: str) -> str | None:
    """The tenant a presented key belongs to, or ``None`` for an unknown key.

    The lookup is by digest, so its timing depends on the digest, never on how much of the
    secret key a caller guessed right.
    """
    if not key:
        return None
    return api_keys.get(hash_api_key(key))

"""API keys: hashed at rest, looked up by hash, so a leaked configuration leaks no key."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit


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


MASK = "***"
_SECRET_PARAM_RE = re.compile(r"pass|secret|token|key|auth", re.IGNORECASE)


def mask_url(url: object) -> str:
    """``url`` as text that is safe to print: a password in it (``redis://:pw@host``,
    ``https://user:pw@host``) and secret-looking query values (``?password=``, ``api_key=``)
    are replaced by ``***``. Anything that does not parse as a URL is masked whole.

    Every line the service prints about its settings goes through this.
    """
    if url is None:
        return "unset"
    text = str(url)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a malformed netloc)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in text and "@" not in netloc:  # a credential outside any netloc: print nothing
        return MASK
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        # A lone userinfo (``redis://secret@host``) may be a password too: masked whole.
        netloc = f"{user}:{MASK}@{host}" if sep else f"{MASK}@{host}"
    query = "&".join(
        f"{name}={MASK}" if _SECRET_PARAM_RE.search(name) else f"{name}={value}" if sep else name
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

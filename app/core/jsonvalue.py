"""One reader for every JSON body and field a client sends (REST, webhooks, the stream).

Python's ``json`` accepts things the rest of the service cannot keep: ``NaN`` and
``Infinity``, integers of thousands of digits, lone UTF-16 surrogates (``"\\ud800"``) that no
UTF-8 encoder will write, and nesting deep enough to overflow a recursive reader (Qdrant's WAL
refused to read back a record whose metadata nested 126 lists, and the service would not
start). Each of these is refused here, with a 400 that says which, before anything is stored.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.errors import MalformedBody

#: Deepest nesting of arrays and objects in a whole body; a document body is three levels
#: around its metadata, so this leaves metadata its own limit (see ``MAX_METADATA_DEPTH``).
MAX_JSON_DEPTH = 32
#: Integers a JSON reader in any language keeps exactly (JavaScript's safe range).
MAX_SAFE_INT = 2**53 - 1


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send a finite number or null")


def decode_json(raw: bytes | str, what: str = "body") -> Any:
    """Parse ``raw`` and check it with ``check_json_value``; every failure is a 400.

    Example: ``decode_json(b'{"score": NaN}')`` raises ``MalformedBody`` naming ``NaN``.
    """
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"{what}: invalid JSON ({exc.msg} at position {exc.pos})") from None
    except UnicodeDecodeError:
        raise MalformedBody(f"{what}: invalid JSON (the bytes are not UTF-8)") from None
    except RecursionError:
        raise MalformedBody(
            f"{what}: invalid JSON here (nested deeper than {MAX_JSON_DEPTH} levels)"
        ) from None
    except ValueError as exc:  # NaN/Infinity above, or an integer past Python's digit limit
        raise MalformedBody(f"{what}: invalid JSON here ({exc})") from None
    check_json_value(value, what, max_depth=MAX_JSON_DEPTH, error=MalformedBody)
    return value


def check_json_value(
    value: Any,
    what: str,
    *,
    max_depth: int,
    error: type[Exception] = MalformedBody,
) -> None:
    """Refuse values the stores cannot write and read back; iterative, so depth cannot hurt.

    Checks: nesting at most ``max_depth`` levels, finite floats, integers within
    ``MAX_SAFE_INT``, keys that are strings, strings without lone surrogates.
    Example: ``{"tags": [["a"]]}`` has depth 3 (object, list, list).
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, what)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise error(f"{path}: nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise error(f"{path}: keys must be strings")
                    child_path = f"{path}.{_printable(key[:40])}"
                    _check_text(key, child_path, error)
                    stack.append((child, depth + 1, child_path))
            else:
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, path, error)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INT:
                raise error(f"{path}: integers must lie within ±{MAX_SAFE_INT} (2**53 - 1)")
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise error(f"{path}: numbers must be finite")
        else:
            raise error(f"{path}: {type(item).__name__} is not a JSON value")


def _printable(text: str) -> str:
    """``text`` safe to quote in an error message, surrogates escaped (``k\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_text(text: str, path: str, error: type[Exception]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(
            f"{path}: not valid Unicode (a lone surrogate U+{ord(text[exc.start]):04X} "
            f"at character {exc.start})"
        ) from None


def valid_text(text: str, path: str, error: type[Exception]) -> str:
    """``text`` when every character can be written as UTF-8 (no lone surrogates)."""
    _check_text(text, path, error)
    return text

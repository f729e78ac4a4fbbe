"""Tagged vocabulary files: the domain words the extraction rules are written over.

Why data and not Python literals: which words name an office, a job, a player position or a
club is domain knowledge that changes per deployment (another country's offices, another
sport), while the rules that use them do not. Keeping the words in ``vocab/*.txt`` (format in
each file's header) lets a deployment add its own without touching the engine, the way
spaCy's ``EntityRuler`` takes patterns as data.

A deployment extends the packaged files with its own, named by the setting
``CHRONORAG_EXTRACT_VOCAB_FILES`` (passed to ``RuleFactExtractor(vocab_files=...)`` by the
composition root): their entries are appended tag by tag. An unknown tag fails fast, since a
misspelt tag would otherwise be silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PACKAGED_DIR", "Vocabulary", "load_vocabulary", "phrase_regex"]

#: Where the packaged vocabulary files live; every ``*.txt`` there is read, in name order.
PACKAGED_DIR = Path(__file__).with_name("vocab")


@dataclass(frozen=True)
class Vocabulary:
    """Entries by tag, in file order (packaged files first, then extensions).

    Attributes:
        entries: Tag -> its entries, duplicates removed (first occurrence kept).
        sources: The files read, in order, for error messages and logs.
    """

    entries: dict[str, tuple[str, ...]]
    sources: tuple[Path, ...]

    def get(self, tag: str) -> tuple[str, ...]:
        """The entries of ``tag``.

        Raises:
            KeyError: If no file defines the tag: a rule asked for a list that does not exist.
        """
        try:
            return self.entries[tag]
        except KeyError:
            raise KeyError(
                f"vocabulary tag {tag!r} is defined by none of {[str(p) for p in self.sources]}"
            ) from None

    def words(self, tag: str) -> frozenset[str]:
        """The entries of ``tag`` as a set, for membership tests on single words or phrases."""
        return frozenset(self.get(tag))

    def regex(self, tag: str) -> str:
        """The entries of ``tag`` as one regex alternation (no group), in file order."""
        return "|".join(phrase_regex(entry) for entry in self.get(tag))


def phrase_regex(entry: str) -> str:
    """One entry as a regex fragment: ``re:`` entries verbatim, phrases escaped.

    In a phrase a space matches any one whitespace character and ``~`` a space or a hyphen,
    which is how the rules see text (whitespace is normalised before matching).
    """
    if entry.startswith("re:"):
        return entry[3:]
    words = entry.split(" ")
    return r"\s".join(r"[\s-]".join(re.escape(part) for part in word.split("~")) for word in words)


def _read(path: Path, entries: dict[str, list[str]], *, known: set[str] | None) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(
            f"cannot read vocabulary file {path}: {exc.strerror}; check "
            "CHRONORAG_EXTRACT_VOCAB_FILES (a JSON list of readable paths)"
        ) from exc
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tag, _, entry = line.partition(" ")
        entry = " ".join(entry.split())
        if not entry:
            raise ValueError(f"{path}:{number}: expected '<tag> <entry>', got {raw!r}")
        if known is not None and tag not in known:
            raise ValueError(
                f"{path}:{number}: unknown vocabulary tag {tag!r}; an extension file may only "
                f"add to the packaged tags: {', '.join(sorted(known))}"
            )
        bucket = entries.setdefault(tag, [])
        if entry not in bucket:
            bucket.append(entry)


def load_vocabulary(extra_files: Iterable[str | Path] = ()) -> Vocabulary:
    """Read the packaged vocabulary, then each extension file in order.

    Args:
        extra_files: A deployment's own files, in the packaged format; their entries are
            appended to the packaged ones of the same tag.

    Returns:
        The merged vocabulary.

    Raises:
        ValueError: If a file cannot be read, has a malformed line, or (an extension) uses a
            tag the packaged files do not define.
    """
    packaged: Sequence[Path] = sorted(PACKAGED_DIR.glob("*.txt"))
    extras = tuple(Path(p) for p in extra_files)
    entries: dict[str, list[str]] = {}
    for path in packaged:
        _read(path, entries, known=None)
    known = set(entries)
    for path in extras:
        _read(path, entries, known=known)
    return Vocabulary({tag: tuple(values) for tag, values in entries.items()}, (*packaged, *extras))

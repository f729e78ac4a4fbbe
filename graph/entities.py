"""Entity names: one normalised key per real-world entity, within and across documents.

The graph joins facts on entity keys, so two spellings of one entity must give one key
("The BBC" and "BBC", "Mr. Smith" and "Smith" after "John Smith" was named) while two
different entities must not collapse into one. Normalisation (`entity_key`) is purely
lexical and context-free; resolution (`EntityResolver`) adds document context: surnames,
acronyms defined as "Full Name (ABBR)", and explicit aliases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

__all__ = ["EntityResolver", "entity_key"]

# Personal honorifics only. Job titles ("President", "CEO", "Chairman") are left alone: they
# are also parts of organisation and product names ("President's Choice", "CEO Council"), and
# "Acme CEO Jane Doe" is the extractor's job to split, not the key's.
_HONORIFICS = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lord", "lady", "prof",
        "professor", "rev", "revd", "reverend", "hon", "mme", "mlle", "herr", "frau",
    }
)  # fmt: skip
_APOSTROPHES = "'\u2019\u02bc"
_POSSESSIVE = re.compile(rf"(?<=\w)[{_APOSTROPHES}]s\b|(?<=s)[{_APOSTROPHES}](?=\s|$)")
# Lower-case joiners inside organisation names; used to tell person names from others.
_CONNECTIVES = frozenset({"of", "and", "for", "the", "on", "in", "at", "&", "to", "a", "an"})
# Last words that mark an organisation rather than a person's surname.
_ORG_SUFFIXES = frozenset(
    {
        "inc", "corp", "corporation", "co", "company", "ltd", "limited", "plc", "llc", "llp",
        "ag", "sa", "se", "nv", "bv", "gmbh", "group", "holdings", "bank", "university",
        "college", "institute", "foundation", "association", "agency", "council", "party",
        "ministry", "department", "club", "fc", "partners", "capital", "financial", "trust",
    }
)  # fmt: skip
# Words skipped when matching an acronym against a full name's initials.
_ACRONYM_SKIP = frozenset({"of", "and", "for", "the", "&", "de", "du", "des", "la", "le", "der"})
_PAREN_ALIAS = re.compile(r"^(?P<full>.*?\S)\s*\((?P<abbr>[^()]+)\)\s*$")
# "Full Name (ABBR)" in running text: a run of capitalised words (with lower-case joiners)
# followed by whitespace and a parenthesised token of capitals, digits and ampersands. The
# parenthesis is found first and the run read backwards from it (`_acronym_definitions`): a
# single regex for the whole shape retried every capitalised word of a long run without a
# parenthesis, quadratic in the run's length.
_TEXT_ABBR = re.compile(r"(?<=\s)\((?P<abbr>[A-Z][A-Za-z0-9&]{1,11})\)")
_CAP_WORD = re.compile(r"[A-Z][\w&'\u2019.-]*")
_NAME_JOINERS = frozenset({"of", "and", "for", "the", "de", "du", "des", "la", "le", "der", "&"})
#: How far before "(ABBR)" the full name is looked for, in characters and in words. An
#: abbreviation has at most 12 letters, so its full name has at most 12 initials; the window
#: leaves room for joiners and long words while keeping the scan linear in the text.
MAX_ACRONYM_LOOKBACK_CHARS = 600
MAX_ACRONYM_LOOKBACK_WORDS = 40


def entity_key(name: str) -> str:
    """Normalise an entity name into the key the graph joins on.

    The key is context-free, so the same string always gives the same key in every process
    and every document: Unicode NFKC, case-folded, a leading personal honorific ("Mr.",
    "Dr", "Dame") and a leading "the" dropped, possessive "'s" dropped, punctuation removed
    except hyphens and ampersands between words ("Coca-Cola"; "AT&T" and "AT & T" both give
    "at & t"), spaces collapsed. Dots and apostrophes are deleted rather than turned into
    spaces so that "U.S." gives "us" and "O'Brien" gives "obrien".

    An honorific is only stripped when a name follows it, not a joiner, so "Lord of the
    Rings" keeps its first word while "Lord Sugar" and "mr smith" lose theirs.

    Args:
        name: The entity's surface form, as written in a document or a query.

    Returns:
        The key; an empty string when the name holds no letters or digits.
    """
    text = unicodedata.normalize("NFKC", name).strip()
    text = _strip_leading_words(text)
    text = _POSSESSIVE.sub("", text.casefold())
    key = _strip_punctuation(text)
    if key.startswith("the ") and len(key) > 4:
        key = key[4:]
    return key


def _strip_leading_words(text: str) -> str:
    """Drop a leading "the" and personal honorifics, judged on the original casing."""
    words = text.split()
    while len(words) > 1:
        head = words[0].rstrip(".").casefold()
        follower = words[1].strip(".,").casefold()
        if head == "the" or (head in _HONORIFICS and follower not in _CONNECTIVES):
            words = words[1:]
            continue
        break
    return " ".join(words)


def _strip_punctuation(text: str) -> str:
    """Keep letters, digits and inner hyphens/ampersands; collapse everything else."""
    chars: list[str] = []
    for index, char in enumerate(text):
        if char.isalnum():
            chars.append(char)
        elif char in ".\u00b7" or char in _APOSTROPHES:
            continue
        elif char in "-\u2010\u2011":
            before = text[index - 1] if index > 0 else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            chars.append("-" if before.isalnum() and after.isalnum() else " ")
        elif char == "&":
            chars.append(" & " if chars and any(c.isalnum() for c in text[index + 1 :]) else " ")
        else:
            chars.append(" ")
    # An inner ampersand becomes its own word, so "AT&T" and "AT & T" give one key.
    return " ".join("".join(chars).split())


def _acronym_definitions(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each "(ABBR)" in ``text`` with the run of capitalised words just before it.

    The run is the longest sequence of capitalised words and lower-case joiners ("of", "the",
    "&") that starts with a capitalised word and ends at the whitespace before the
    parenthesis, within `MAX_ACRONYM_LOOKBACK_WORDS` words and `MAX_ACRONYM_LOOKBACK_CHARS`
    characters. Occurrences with no such run are skipped.
    """
    for match in _TEXT_ABBR.finditer(text):
        begin = max(0, match.start() - MAX_ACRONYM_LOOKBACK_CHARS)
        window = text[begin : match.start()]
        tokens = window.split()
        if begin > 0 and not window[:1].isspace() and tokens:
            tokens = tokens[1:]  # cut by the window's edge
        run: list[str] = []
        for token in reversed(tokens[-MAX_ACRONYM_LOOKBACK_WORDS:]):
            if token not in _NAME_JOINERS and _CAP_WORD.fullmatch(token) is None:
                break
            run.append(token)
        run.reverse()
        while run and run[0] in _NAME_JOINERS:
            run = run[1:]
        if run:
            yield match.group("abbr"), run


def _initials(words: list[str], *, skip: frozenset[str]) -> str:
    return "".join(word[0] for word in words if word not in skip and word[0].isalnum())


def _acronym_matches(abbr_key: str, full_key: str) -> bool:
    """Whether an abbreviation is the initials of a full name (joiners optional)."""
    letters = abbr_key.replace("&", "").replace(" ", "")
    words = full_key.split()
    if len(letters) < 2 or len(words) < 2:
        return False
    return letters in {_initials(words, skip=_ACRONYM_SKIP), _initials(words, skip=frozenset())}


def _looks_like_person(key: str) -> bool:
    """Whether a multi-word key could be a person's full name whose last word is a surname.

    Only such names take part in surname resolution, so that "England" after "Bank of
    England" or "Acme" after "Acme Group" does not resolve to the organisation.
    """
    words = key.split()
    if not 2 <= len(words) <= 4:
        return False
    if any(word in _CONNECTIVES for word in words) or words[-1] in _ORG_SUFFIXES:
        return False
    return all(word.replace("-", "").isalpha() for word in words)


class EntityResolver:
    """Resolves entity names to canonical keys, using what one document and the graph know.

    One resolver is meant to live for one ingest batch: call `begin_document` before the
    names of each document. Rules, in order:

    1. An explicit alias (`add_alias`) or an acronym learned from "Full Name (ABBR)" maps to
       its canonical key.
    2. A single-word name ("Smith") resolves to the one person-like full name ending with
       that word seen earlier in the same document ("John Smith"); if several were seen,
       it is ambiguous and keeps its own key.
    3. Otherwise a name whose key is already known keeps it; a single word resolves to the
       one known person-like key ending with that word.
    4. Otherwise the name's own key.

    Every key returned becomes known, so later documents in the batch resolve against it.
    Acronyms learned in one document apply to later documents too unless they conflict with
    an alias already held (then they stay local to their document); `learned_aliases` returns
    them so a caller can persist them.

    Not thread-safe: it holds per-document state.
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        """Create a resolver.

        Args:
            known: Entity keys already in the graph (already normalised with `entity_key`).
        """
        self._known: set[str] = set()
        self._by_surname: dict[str, set[str]] = {}
        for key in known:
            self._remember(key)
        self._aliases: dict[str, str] = {}
        self._learned: dict[str, str] = {}
        self._doc_aliases: dict[str, str] = {}
        self._doc_full_names: list[str] = []

    def begin_document(self) -> None:
        """Forget the previous document's names; aliases and known keys are kept."""
        self._doc_aliases = {}
        self._doc_full_names = []

    def add_alias(self, alias: str, canonical: str) -> None:
        """Map every mention of `alias` to `canonical` from now on, in every document.

        Raises:
            ValueError: If either name has an empty key, or the alias would map to itself
                through a chain of aliases (a cycle).
        """
        alias_key, canonical_key = entity_key(alias), entity_key(canonical)
        if not alias_key or not canonical_key:
            raise ValueError(f"alias {alias!r} -> {canonical!r}: names must hold letters or digits")
        target = self._follow(canonical_key)
        if target == alias_key:
            raise ValueError(f"alias {alias!r} -> {canonical!r} would create a cycle")
        if alias_key != target:
            self._aliases[alias_key] = target
        self._remember(target)

    def learned_aliases(self) -> dict[str, str]:
        """Acronym aliases learned from documents so far (acronym key -> full-name key)."""
        return dict(self._learned)

    def scan(self, text: str) -> None:
        """Learn acronyms defined in a document's text as "Full Name (ABBR)".

        Call it after `begin_document` with the document's text so that a bare acronym used
        before (or without) its definition in the extracted facts still resolves. The full
        name is the shortest run of capitalised words before the parenthesis whose initials
        spell the acronym, so "Shares of International Business Machines (IBM)" learns
        "ibm" -> "international business machines".
        """
        for abbr, words in _acronym_definitions(text):
            abbr_key = entity_key(abbr)
            for start in range(len(words) - 1, -1, -1):
                candidate = entity_key(" ".join(words[start:]))
                if _acronym_matches(abbr_key, candidate):
                    self._learn_acronym(abbr_key, self._follow(candidate))
                    break

    def resolve(self, name: str) -> str:
        """Return the canonical key for one mention of an entity.

        A mention written as "Full Name (ABBR)" resolves the full name and, when the
        abbreviation spells its initials, teaches the resolver the acronym.

        Raises:
            ValueError: If the name has no letters or digits (an empty key would merge
                unrelated entities).
        """
        text = unicodedata.normalize("NFKC", name).strip()
        match = _PAREN_ALIAS.match(text)
        if match:
            full_key = self.resolve(match.group("full"))
            abbr_key = entity_key(match.group("abbr"))
            if _acronym_matches(abbr_key, full_key):
                self._learn_acronym(abbr_key, full_key)
            return full_key
        key = entity_key(text)
        if not key:
            raise ValueError(f"entity name {name!r} has no letters or digits")
        resolved = self._resolve_key(key)
        if " " in resolved and resolved not in self._doc_full_names:
            self._doc_full_names.append(resolved)
        self._remember(resolved)
        return resolved

    def _resolve_key(self, key: str) -> str:
        if key in self._doc_aliases:
            return self._doc_aliases[key]
        if key in self._aliases:
            return self._follow(key)
        if " " in key:
            return key
        in_document = [
            full
            for full in self._doc_full_names
            if full.rsplit(" ", 1)[-1] == key and _looks_like_person(full)
        ]
        if in_document:
            return in_document[0] if len(in_document) == 1 else key
        if key in self._known:
            return key
        in_graph = self._by_surname.get(key, set())
        return next(iter(in_graph)) if len(in_graph) == 1 else key

    def _remember(self, key: str) -> None:
        if not key or key in self._known:
            return
        self._known.add(key)
        if _looks_like_person(key):
            self._by_surname.setdefault(key.rsplit(" ", 1)[-1], set()).add(key)

    def _follow(self, key: str) -> str:
        seen = {key}
        while key in self._aliases:
            key = self._aliases[key]
            if key in seen:
                break
            seen.add(key)
        return key

    def _learn_acronym(self, abbr_key: str, full_key: str) -> None:
        if abbr_key == full_key:
            return
        self._doc_aliases[abbr_key] = full_key
        if abbr_key not in self._aliases:
            self._aliases[abbr_key] = full_key
            self._learned[abbr_key] = full_key
        self._remember(full_key)

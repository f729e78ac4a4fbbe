"""Step 1: tokens, name chunks and the items a sentence is reduced to.

Names are found by capitalisation, which is cheap and needs no model: capitalised words are
grouped into chunks ("Bank of Northland", "Jane Doe"), joining across "of"/"for" only after an
institution or office word (`Lexicon.heads_of`), so "Bank of Northland" is one chunk while
"Jane Doe of Acme" is two. Titles inside a chunk are split off: "Acme Chief Executive Jane
Doe" becomes *Acme* + "chief executive" + *Jane Doe*. A capitalised title opening a lower-case
one ("Head coach Jane Doe", "Chief executive Jane Doe") is a title, not a name. Time mentions
(from `graph.timeparse`) become items of their own, so "March 2021" is never read as a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from graph.extract.lexicon import Lexicon
from graph.timeparse import TimeMention

__all__ = [
    "Item",
    "Token",
    "chunk",
    "clean_name",
    "is_headline",
    "keep_mention",
    "person_like",
    "smart_case",
    "time_of",
    "tokenize",
]

_NUMBERED_NAME = re.compile(r"\d+[a-z]+")  # "49ers", "76ers"
_COMPOUND_SUFFIX = re.compile(r"-(?:based|born|owned|led|headquartered)$")
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_]+(?:['’\-][^\W_]+)*|\S")
_APOSTROPHES = "'’"


@dataclass
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_cap(self) -> bool:
        first = self.text[0]
        return first.isupper() or (
            first.isdigit() and _NUMBERED_NAME.fullmatch(self.text) is not None
        )


@dataclass
class Item:
    """One unit of the reduced string: an entity chunk (E), a time (T) or a word (W)."""

    kind: str
    text: str
    start: int
    end: int
    mention: TimeMention | None = None


def tokenize(lx: Lexicon, sentence: str) -> list[Token]:
    tokens: list[Token] = []
    matches = list(_TOKEN.finditer(sentence))
    index = 0
    while index < len(matches):
        match = matches[index]
        text, start, end = match.group(), match.start(), match.end()
        nxt = matches[index + 1] if index + 1 < len(matches) else None
        # "Dr." / "H." / "Jr.": keep the full stop with the word.
        if (
            nxt is not None
            and nxt.group() == "."
            and nxt.start() == end
            and ((len(text) == 1 and text.isupper()) or text.lower() in lx.title_abbrev)
        ):
            text, end = text + ".", nxt.end()
            index += 1
        # "ex-chief" -> "ex-" "chief"
        if text[:3].lower() == "ex-" and len(text) > 3:
            tokens.append(Token("ex-", start, start + 3))
            text, start = text[3:], start + 3
        # "Portavel-based" -> "Portavel" "-based"
        suffix = _COMPOUND_SUFFIX.search(text) if "-" in text else None
        if suffix and text[0].isupper():
            cut = start + suffix.start()
            tokens.append(Token(text[: suffix.start()], start, cut))
            tokens.append(Token(text[suffix.start() :], cut, end))
        elif len(text) > 2 and text[-2] in _APOSTROPHES and text[-1] in "sS":
            tokens.append(Token(text[:-2], start, end - 2))
            tokens.append(Token("'s", end - 2, end))
        elif (
            text in _APOSTROPHES
            and tokens
            and tokens[-1].end == start
            and tokens[-1].text.endswith("s")
        ):
            tokens.append(Token("'s", start, end))
        else:
            tokens.append(Token(text, start, end))
        index += 1
    return tokens


def smart_case(sentence: str) -> str | None:
    """Title-case an ALL-CAPS sentence (keeping length), or None if it is not all caps."""
    lowers = sum(1 for c in sentence if c.islower())
    if lowers > 0.1 * len(sentence) or sum(1 for c in sentence if c.isupper()) < 8 * (lowers + 1):
        return None
    cased = _WORD.sub(lambda m: m.group().capitalize(), sentence)
    return cased if len(cased) == len(sentence) else None


def is_headline(tokens: Sequence[Token]) -> bool:
    words = [t for t in tokens if t.text[0].isalpha() and len(t.text) > 3]
    if len(words) < 4:
        return False
    return sum(t.text[0].isupper() for t in words) >= 0.75 * len(words)


def chunk(
    lx: Lexicon,
    tokens: list[Token],
    time_of: dict[int, int],
    mentions: Sequence[TimeMention],
    *,
    headline: bool = False,
) -> list[Item]:
    """Group tokens into items: time mentions, name chunks (split at titles) and words.

    In a Title Case headline every word is capitalised, so a name after a title is cut to
    its usual length ("Chair Jane Doe Backs Plan" -> "Jane Doe").
    """
    items: list[Item] = []
    index = 0
    n = len(tokens)
    while index < n:
        token = tokens[index]
        if index in time_of:
            m_index = time_of[index]
            end = index
            while end + 1 < n and time_of.get(end + 1) == m_index:
                end += 1
            mention = mentions[m_index]
            items.append(Item("T", mention.text, tokens[index].start, tokens[end].end, mention))
            index = end + 1
            continue
        opener = _title_opener(lx, tokens, index)
        if opener:
            items.extend(_words(tokens[index : index + opener]))
            index += opener
            continue
        if token.is_cap and token.lower not in lx.cap_stop and token.text[0].isalpha():
            end = index
            so_far = {token.lower}  # the chunk's words, kept up to date as it grows
            while end + 1 < n and (end + 1) not in time_of:
                nxt = tokens[end + 1]
                if nxt.is_cap and nxt.lower not in lx.cap_stop and nxt.text != "'s":
                    end += 1
                    so_far.add(nxt.lower)
                    continue
                joined = _join_length(lx, tokens, end, so_far, time_of)
                if joined:
                    so_far.update(t.lower for t in tokens[end + 1 : end + 1 + joined])
                    end += joined
                    continue
                break
            items.extend(_split_chunk(lx, tokens[index : end + 1], headline=headline))
            index = end + 1
            continue
        items.append(Item("W", token.lower if token.lower in lx.cap_stop else token.text,
                           token.start, token.end))  # fmt: skip
        index += 1
    return items


def _title_opener(lx: Lexicon, tokens: list[Token], index: int) -> int:
    """Length of a title of several words written in sentence case ("Head coach", "Chief
    executive officer") starting at ``index``, or 0.

    Only the first word is capitalised, so without this check it would be a one-word name:
    "Head coach Jane Doe" would read as a coach of an organisation called "Head".
    """
    if not tokens[index].is_cap:
        return 0
    longest = 0
    for length in range(2, min(lx.max_head, len(tokens) - index) + 1):
        rest = tokens[index + 1 : index + length]
        if any(t.is_cap for t in rest):
            break
        spec = lx.cap_heads.get(tuple(t.lower for t in tokens[index : index + length]))
        if spec is not None and not spec[1]:
            longest = length
    return longest


def _join_length(
    lx: Lexicon, tokens: list[Token], last: int, so_far: set[str], time_of: dict[int, int]
) -> int:
    """How many tokens after ``last`` a connector adds to the chunk ending there (0: none).

    ``so_far`` holds the lower-cased words of the chunk so far.
    """
    n = len(tokens)
    nxt = tokens[last + 1].lower
    look = last + 2
    if look < n and tokens[look].lower == "the" and nxt in {"of", "for", "to"}:
        look += 1
    if look >= n or look in time_of or not tokens[look].is_cap or tokens[look].lower in lx.cap_stop:
        return 0
    if nxt in lx.particles or nxt == "&" or nxt == "upon":
        return look - last
    if nxt in {"of", "for"} and so_far & lx.heads_of:
        return look - last
    if nxt == "to" and so_far & lx.heads_to:
        return look - last
    if nxt == "and" and so_far & {"of", "for", "to"} and so_far & lx.heads_of:
        head_next = tuple(t.lower for t in tokens[look : look + lx.max_head])
        if any(head_next[: len(key)] == key for key in lx.cap_heads):
            return 0
        return look - last
    return 0


def _find_head(lx: Lexicon, lows: list[str]) -> tuple[int, int, str] | None:
    for start in range(len(lows)):
        for length in range(min(lx.max_head, len(lows) - start), 0, -1):
            key = tuple(lows[start : start + length])
            spec = lx.cap_heads.get(key)
            if spec is None:
                continue
            kind, needs_of = spec
            after = lows[start + length] if start + length < len(lows) else ""
            if needs_of and after != "of":
                continue
            return start, length, kind
        if (
            start + 2 < len(lows)
            and lows[start] == "chief"
            and lows[start + 2] == "officer"
            and lows[start + 1] != "executive"
        ):
            return start, 3, "job"
    return None


def person_like(lx: Lexicon, tokens: Sequence[Token]) -> bool:
    while len(tokens) > 1 and tokens[0].lower.rstrip(".") in lx.honorifics:
        tokens = tokens[1:]
    core = [
        t
        for t in tokens
        if t.lower not in lx.name_suffixes and not re.fullmatch(r"[A-Z]\.", t.text)
    ]
    if not 1 <= len(core) <= 4:
        return False
    for token in core:
        if token.lower in lx.particles:
            continue
        if not token.text[0].isupper() or token.lower.rstrip(".") in lx.nonperson:
            return False
        if any(c.isdigit() for c in token.text) or token.lower in lx.honorifics:
            return False
    return True


def _split_trailing_person(lx: Lexicon, tail: list[Token]) -> tuple[list[Token], list[Token]]:
    """Split "Trade Mara Quint" into the office tail ("Trade") and a person ("Mara Quint")."""
    n = len(tail)
    if n < 3:
        return tail, []
    size = 2
    if tail[-1].lower in lx.name_suffixes:
        size += 1
    while n - size - 1 >= 0 and (
        re.fullmatch(r"[A-Z]\.", tail[n - size - 1].text) or tail[n - size].lower in lx.particles
    ):
        size += 1
    if n - size < 1:
        return tail, []
    if re.fullmatch(r"[A-Z]\.", tail[n - size].text) and n - size - 1 >= 1:
        size += 1  # "Orla K. Fenwick": an initial is never a first word
    obj, person = tail[: n - size], tail[n - size :]
    if obj[-1].lower in {"and", "of", "for", "the", "&", "to"} or not person_like(lx, person):
        return tail, []
    if person[0].lower in lx.particles:
        return tail, []
    return obj, person


def _entity_item(lx: Lexicon, tokens: Sequence[Token]) -> list[Item]:
    """One E item for a run of name tokens, with post-nominals ("MP") split off as words."""
    items: list[Item] = []
    toks = list(tokens)
    trailing: list[Token] = []
    while toks and toks[-1].lower.rstrip(".") in lx.postnominals:
        trailing.insert(0, toks.pop())
    while len(toks) > 1 and toks[0].lower.rstrip(".") in lx.postnominals:
        items.append(Item("W", toks[0].lower.rstrip("."), toks[0].start, toks[0].end))
        toks = toks[1:]
    while toks and toks[0].lower in {"the", "and", "of", "for", "to"}:
        items.append(Item("W", toks[0].lower, toks[0].start, toks[0].end))
        toks = toks[1:]
    if toks:
        items.append(Item("E", "", toks[0].start, toks[-1].end))
    items.extend(Item("W", t.lower.rstrip("."), t.start, t.end) for t in trailing)
    return items


def _words(tokens: Sequence[Token]) -> list[Item]:
    return [Item("W", t.lower, t.start, t.end) for t in tokens]


def _name_length(lx: Lexicon, tokens: Sequence[Token]) -> int:
    """How many leading tokens make a usual person name: two words, plus initials/particles."""
    size = 0
    words = 0
    for token in tokens:
        if (
            re.fullmatch(r"[A-Z]\.", token.text)
            or token.lower in lx.particles
            or (words == 0 and token.lower.rstrip(".") in lx.honorifics)
        ):
            size += 1
            continue
        if token.lower in lx.name_suffixes:
            size += 1
            break
        if words == 2:
            break
        size += 1
        words += 1
    return size


def _split_chunk(lx: Lexicon, tokens: list[Token], *, headline: bool = False) -> list[Item]:
    """Split a capitalised chunk at a title: "Acme Chief Executive Jane Doe" -> 3 items."""
    lows = [t.lower for t in tokens]
    found = _find_head(lx, lows)
    if found is None:
        return _entity_item(lx, tokens)
    start, length, kind = found
    pre, head, rest = tokens[:start], tokens[start : start + length], tokens[start + length :]
    connector: list[Token] = []
    tail: list[Token] = []
    person: list[Token] = []
    leftover: list[Token] = []
    if rest and rest[0].lower in {"of", "for", "to"}:
        connector = [rest[0]]
        rest = rest[1:]
        if rest and rest[0].lower == "the":
            connector.append(rest[0])
            rest = rest[1:]
        tail, person = _split_trailing_person(lx, rest)
    elif rest:
        if headline:
            person, leftover = rest[: _name_length(lx, rest)], rest[_name_length(lx, rest) :]
        else:
            person = rest
        if not person_like(lx, person):
            return _entity_item(lx, tokens)
    if not pre and not head:
        return _entity_item(lx, tokens)
    items: list[Item] = []
    # Trailing modifiers of the part before the head ("Acme Deputy") are words, not names.
    mods: list[Token] = []
    while pre and pre[-1].lower in lx.office_mod_words:
        mods.insert(0, pre.pop())
    if pre:
        items.extend(_entity_item(lx, pre))
    items.extend(_words(mods))
    items.extend(_words(head))
    items.extend(_words(connector))
    if tail:
        items.extend(_entity_item(lx, tail))
    if person:
        items.extend(_entity_item(lx, person))
    items.extend(_words(leftover))
    return items


def clean_name(lx: Lexicon, text: str) -> str:
    """Normalise a surface name: no leading "the"/honorific, no trailing punctuation."""
    text = " ".join(text.replace("’", "'").split())
    text = text.strip(" ,.;:\"“”'()[]")
    words = text.split()
    while len(words) > 1 and (
        words[0].lower() == "the" or words[0].lower().rstrip(".") in lx.honorifics
    ):
        words = words[1:]
    text = " ".join(words)
    if text.endswith("'s"):
        text = text[:-2]
    return text.rstrip(" ,.;:'")


def time_of(tokens: Sequence[Token], mentions: Sequence[TimeMention]) -> dict[int, int]:
    """Token index -> index of the first time mention it overlaps, in one sweep.

    Both are in text order and mentions do not overlap one another, so a token can only
    overlap the mentions from the first one that does not end before it.
    """
    time_of: dict[int, int] = {}
    first = 0
    for t_index, token in enumerate(tokens):
        while first < len(mentions) and mentions[first].end_char <= token.start:
            first += 1
        m_index = first
        while m_index < len(mentions) and mentions[m_index].start_char < token.end:
            if token.start < mentions[m_index].end_char:
                time_of[t_index] = m_index
                break
            m_index += 1
    return time_of


def keep_mention(lx: Lexicon, mention: TimeMention, text: str) -> bool:
    """Drop a bare month that is really a surname ("Olen May") or a one-word fragment."""
    words = mention.text.split()
    if len(words) == 1 and words[0][:1].isupper() and not mention.text[:1].isdigit():
        before = text[: mention.start_char].rstrip()
        previous = before.split()[-1] if before.split() else ""
        if previous[:1].isupper() and previous.lower() not in lx.cap_stop:
            return False
    return True

"""Step 2: the reduced string a sentence's rules match, and the clause helpers they share.

Each name chunk becomes a placeholder (``⟨E3⟩``), each time mention ``⟨T0⟩`` and every other
word its lower-case self, so a rule is a regular expression over a short, regular string and
a match maps back to the original text through `Sentence.entity`. `Sentence.add` is the only
way a rule creates a draft fact: it applies the checks every rule needs (a clause window, no
negation or hedge before the trigger, no club as a player) so no rule can forget them.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from graph.extract.lexicon import Lexicon
from graph.extract.model import TEAM, DocState, Draft
from graph.extract.names import Item, clean_name

__all__ = ["Sentence"]

_NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", "!", "?", ")", "'s", "%", "”", "’"})
_NO_SPACE_AFTER = frozenset({"(", "“", "‘"})


_RIGHT_BOUNDARY = re.compile(
    r"[;:]|\s[—–]\s|,(?!\s(?:effective|with\seffect|starting|beginning|from|until|as\sof|"
    r"which\stakes\seffect|⟨T\d+⟩))"
)
_LEFT_BOUNDARY = re.compile(r"[;:]|\s[—–]\s|\s-\s|,\s(?:but|while|whereas|although|though|and)\s")
# Negation and hedging before a trigger: "did not join", "could become", "linked with".
_HEDGE = re.compile(
    r"\b(?:not|n't|never|neither|nor|if|whether|could|would|might|may|rumou?red|linked|talks|"
    r"considering|denied|denies|deny|reportedly\sclose|hoping|hopes|wants|want)\b|n't\b"
)


# A scheduled or announced change between the clause start and the trigger ("will step down",
# "is due to join"): its relative times ("in March") lie ahead of the reference, not behind.
_FUTURE = re.compile(
    r"\b(?:will|shall|(?:is|are)\s(?:set|expected|due|poised|scheduled|going)\sto|(?:is|are)\sto"
    r"|plans?\sto|intends?\sto)\s"
)


class Sentence:
    """A sentence with its items and reduced string, and the helpers patterns need."""

    def __init__(
        self, text: str, surface: str, items: list[Item], doc: DocState, lx: Lexicon
    ) -> None:
        self.text = text
        self.lx = lx
        #: Name of the rule now running, recorded on each draft so a fact can be traced.
        self.rule = ""
        self.surface = surface
        self.items = items
        self.doc = doc
        pieces: list[str] = []
        self.owner: list[int] = []
        self._starts: list[int] = []  # item index -> its first position in `reduced`
        for index, item in enumerate(items):
            piece = {"E": f"⟨E{index}⟩", "T": f"⟨T{index}⟩"}.get(item.kind, item.text)
            piece = piece.replace("’", "'") if item.kind == "W" else piece
            if pieces and piece not in _NO_SPACE_BEFORE and pieces[-1] not in _NO_SPACE_AFTER:
                pieces.append(" ")
                self.owner.append(-1)
            pieces.append(piece)
            self._starts.append(len(self.owner))
            self.owner.extend([index] * len(piece))
        self.reduced = "".join(pieces)
        # Ends of the clause boundaries, in order, so `window` bisects instead of rescanning.
        self._left_ends = [b.end() for b in _LEFT_BOUNDARY.finditer(self.reduced)]
        self.times = [
            (self._r_start(i), item.mention)
            for i, item in enumerate(items)
            if item.kind == "T" and item.mention is not None
        ]
        self.drafts: list[Draft] = []

    def _r_start(self, index: int) -> int:
        return self._starts[index]

    def entity(self, match: re.Match[str], group: str) -> str | None:
        value = match.group(group)
        if value is None:
            return None
        item = self.items[int(value)]
        return item.text or clean_name(self.lx, self.surface[item.start : item.end])

    def original(self, start: int, end: int) -> str:
        owners = [o for o in self.owner[start:end] if o >= 0]
        if not owners:
            return ""
        return self.surface[self.items[owners[0]].start : self.items[owners[-1]].end]

    def window(self, match: re.Match[str]) -> tuple[int, int]:
        """The clause around a match: where a time mention may belong to its fact."""
        reduced = self.reduced
        anchor = match.start("v")
        # The last boundary that ends at or before the anchor.
        found = bisect_right(self._left_ends, anchor)
        left = self._left_ends[found - 1] if found else 0
        groups = match.re.groupindex
        for gap in ("gap", "gap2"):
            if gap in groups and match.group(gap):
                left = max(left, match.end(gap))
        if "who" in groups and match.group("who"):
            left = max(left, match.start("who"))
        right = len(reduced)
        end = _RIGHT_BOUNDARY.search(reduced, match.end())
        if end:
            right = end.start()
        return left, right

    def add(
        self,
        match: re.Match[str],
        subject: str | None,
        relation: str,
        obj: str | None,
        *,
        negated: bool = False,
        mode: str = "event",
    ) -> Draft | None:
        if not subject or not obj or subject == obj:
            return None
        if relation == TEAM and self.lx.club_suffix.search(subject):
            return None
        left, right = self.window(match)
        if _HEDGE.search(self.reduced, left, match.end()):
            return None
        anchor = match.start("v")
        draft = Draft(subject, relation, obj, negated, mode, anchor, left, right, rule=self.rule)
        draft.future = _FUTURE.search(self.reduced, left, anchor) is not None
        self.drafts.append(draft)
        return draft

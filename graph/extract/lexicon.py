"""The word lists and title fragments every step reads, built once from a `Vocabulary`.

Why one object: the steps (names, patterns, relation mapping) need the same lists, and a
deployment's extra vocabulary must reach all of them together. A `Lexicon` is immutable after
construction, so one instance can serve many threads; `RuleFactExtractor` builds it once.
"""

from __future__ import annotations

import re

from graph.extract.vocabulary import Vocabulary

__all__ = ["Lexicon"]


class Lexicon:
    """Sets (membership tests), regex alternations (rule fragments) and compiled matchers.

    Attribute names follow the vocabulary tags they come from (see ``vocab/*.txt``).
    """

    def __init__(self, vocab: Vocabulary) -> None:
        words = vocab.words
        # Names (graph.extract.names).
        self.cap_stop = words("cap_stop")
        self.pronouns = words("pronoun")
        self.title_abbrev = words("title_abbrev")
        self.particles = words("particle")
        self.honorifics = words("honorific")
        self.postnominals = words("postnominal")
        self.name_suffixes = words("name_suffix")
        self.heads_of = words("heads_of")
        self.heads_to = words("heads_to")
        self.nonperson = words("nonperson")
        self.nonperson_subject = self.nonperson - words("nonperson_subject_except") | words(
            "nonperson_subject"
        )
        self.demonym = re.compile(rf"(?:{vocab.regex('demonym')})")
        # Titles, as regex alternations over the reduced (lower-case) string.
        self.org_title = vocab.regex("org_title")
        self.job_title = vocab.regex("job_title")
        self.position = vocab.regex("position")
        self.office_head = vocab.regex("office_head")
        self.office_mods = vocab.regex("office_mod")
        self.role_mods = vocab.regex("role_mod")
        self.kin = vocab.regex("kin")
        self.office_mod_set = words("office_mod")
        self.office_mod_words = self.office_mod_set | words("office_mod_word")
        self.negating_mods = words("negating_mod")
        self.subordinate_mods = words("subordinate_mod")
        self.office_internal_mods = words("office_internal_mod")
        self.ambiguous_offices = words("ambiguous_office")
        self.head_of_government = words("head_of_government")
        self.office_noise = words("office_noise")
        self.head_directors = words("head_director")
        self.legislature = re.compile(rf"\b(?:{vocab.regex('legislature')})\b", re.IGNORECASE)
        self.spouse_kin = words("spouse_kin")
        self.negative_kin = words("negative_kin")
        self.open_noun_stop = words("open_noun_stop")
        # Capitalised title heads split off name chunks: word tuple -> (kind, needs "of").
        self.cap_heads: dict[tuple[str, ...], tuple[str, bool]] = {}
        for tag, kind, needs_of in (
            ("cap_head_office", "office", False),
            ("cap_head_org", "org", False),
            ("cap_head_org_of", "org", True),
            ("cap_head_job", "job", False),
            ("cap_head_position", "position", False),
        ):
            for phrase in vocab.get(tag):
                self.cap_heads[tuple(phrase.split())] = (kind, needs_of)
        self.max_head = max(len(key) for key in self.cap_heads)
        # Words lower-cased in a Title Case headline: grammar words and player positions.
        self.headline_lower = words("headline_lower") | frozenset(
            word for phrase in vocab.get("position") for word in phrase.split()
        )
        # Sports.
        self.generic_objects = words("generic_object")
        self.team_qualifiers = words("team_qualifier")
        self.competition = re.compile(
            rf"(?:\b(?:{vocab.regex('competition_word')})\b"
            rf"|\b(?:{vocab.regex('competition_suffix')})$"
            rf"|^(?:{vocab.regex('competition_name')})$)"
        )
        self.sports_strong = re.compile(rf"\b(?:{vocab.regex('sports_strong')})\b", re.IGNORECASE)
        self.sports_weak = re.compile(rf"\b(?:{vocab.regex('sports_weak')})\b", re.IGNORECASE)
        self.club_suffix = re.compile(rf"\b(?:{vocab.regex('club_suffix')})$")
        # Compiled once: fullmatch tests in relation mapping run per candidate fact.
        self.position_re = re.compile(self.position)
        self.org_title_re = re.compile(self.org_title)
        self.job_title_re = re.compile(self.job_title)
        self.office_head_re = re.compile(self.office_head)
        self.office_head_end = re.compile(rf"(?:{self.office_head})(?![\w-])")
        self.office_head_word = re.compile(rf"(?<![\w-])(?:{self.office_head})(?![\w-])")

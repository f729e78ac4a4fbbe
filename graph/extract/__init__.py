"""Fact extraction: timestamped relations from English news text, with no model and no network.

`RuleFactExtractor` is the default `FactExtractor`. It is deterministic (same text and
reference time, same facts, in the same order), needs nothing but the standard library, and
runs at thousands of short documents per second, so it can sit on the ingest hot path.

The modules are the steps, run per sentence (`graph.text.split_sentences`; one longer than
`MAX_SENTENCE_CHARS` is cut at whitespace first, so the work stays linear in the text):

1. `names`: tokens, time mentions (`graph.timeparse`, masked so "March 2021" is never a
   name) and name chunks found by capitalisation, with titles split off.
2. `sentence`: the reduced string (``⟨E3⟩ was appointed chief executive of ⟨E5⟩``) that rules
   match, and `Sentence.add`, the checks every fact needs (clause, negation, hedges).
3. `rules` (with `fragments` and `handlers`): the rule table, each rule a named pattern with
   its handler and invented examples; the examples are its tests.
4. `mapping`: from the title or verb matched to a relation of `graph.relations`; a phrase the
   ontology does not know is kept as an open relation.
5. `timing`: which time mention of the clause starts or ends which fact.
6. `extractor`: the pipeline, validation and pronouns ("She ..." after a named person).

Domain words (titles, offices, positions, club suffixes, competitions) are data: tagged
files in ``vocab/`` read by `vocabulary`, extended per deployment by the setting
``CHRONORAG_EXTRACT_VOCAB_FILES`` (see the header of any of those files).

Why rules and not a parser model: the patterns that carry temporal facts in news are few and
formulaic ("was appointed", "have signed X from Y", "stepped down as"), a pure-Python
extractor keeps `graph/` free of model weights, and every fact can be traced to one rule
(`RuleFactExtractor.explain`). The price is recall on unusual phrasing; see ``Limitations``
in the class docstring.
"""

from graph.extract.extractor import MAX_SENTENCE_CHARS, RuleFactExtractor
from graph.extract.model import ExtractedFact, FactExtractor, unique_facts

__all__ = [
    "MAX_SENTENCE_CHARS",
    "ExtractedFact",
    "FactExtractor",
    "RuleFactExtractor",
    "unique_facts",
]

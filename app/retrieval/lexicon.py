"""English word lists shared by question parsing and evidence matching.

General English only (function words, question words, calendar words, role nouns): nothing
here may name an entity or follow one data set's wording. Each list exists once; modules
combine them into the sets they need.
"""

from __future__ import annotations

from graph.text import wordset

ARTICLES = wordset("a an the")
PREPOSITIONS = wordset("of in on at to for by with from")
CONJUNCTIONS = wordset("and or")
COPULAS = wordset("is are was were be been")
# Auxiliaries that open a yes/no question ("Does X hold ...?", "Is X a member of ...?").
AUXILIARIES = wordset("is are was were does do did has have had can could will would should")
QUESTION_WORDS = wordset("who what which when where whom whose how why")
POSSESSIVES = wordset("its his her their")
DEMONSTRATIVES = wordset("this that these those")
PERSONAL_PRONOUNS = wordset("i we you he she they it")
# Particles inside names ("Kevin de Bruyne", "Ludwig van Beethoven").
NAME_PARTICLES = wordset("de du von van da di")
HONORIFICS = wordset("mr mrs ms dr")
WEEKDAYS = wordset("monday tuesday wednesday thursday friday saturday sunday")
MONTHS = wordset(
    "january february march april may june july august september october november december"
)
#: Legal forms written after a comma ("Orvane Labs, Inc."): part of the name before them, never a
#: name of their own in a list of companies.
LEGAL_FORMS = wordset("inc incorporated corp co ltd limited plc llc llp lp ag sa se nv bv gmbh")
#: Verbs that open a request for an answer ("Tell me who …", "Name the club …", "Can you
#: identify …"): the question the request makes follows them.
REQUEST_VERBS = wordset("tell name identify find give list say state")

"""The rule table: every extraction rule as data, with the examples that test it.

Following `graph.timeparse`'s ``_Rule`` table: a `Rule` is a name, a pattern over the reduced
sentence (`graph.extract.sentence`), the handler that reads a match, the relations it may
yield, and invented example sentences with the facts they must give. The examples are run by
``tests/unit/test_extract_rules.py``, so a rule and its documentation cannot drift apart, and
`RuleFactExtractor.explain` names the rule behind each fact.

Patterns are functions of the `Fragments` (``f``) so that a deployment's vocabulary (more
titles, offices, positions) reaches every rule; they read as templates: ``{f.subj}`` a
subject, ``{f.adv}`` auxiliaries and times, ``{f.role}`` a title with its organisation,
``{f.irole}`` a title whose organisation the rule supplies, ``{f.e('o')}`` an entity.

Invariants: rules run in table order on every sentence, and each may add several drafts; the
order matters only for which of two identical facts is kept (the first) and for the
succession pass, which pairs ", replacing Z" with the last role fact before it. Every example
sentence is invented; none comes from an evaluation set.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from graph.extract import handlers as h
from graph.extract.fragments import Fragments
from graph.extract.model import (
    CEO,
    CHAIR,
    COACH,
    EMPLOYER,
    HEAD,
    HEAD_GOV,
    HEAD_STATE,
    HQ,
    LOCATED,
    MEMBER,
    OPEN,
    OWNER,
    PARTNER,
    POSITION,
    PRESIDENT,
    SPOUSE,
    TEAM,
)
from graph.extract.sentence import Sentence

__all__ = ["EXAMPLE_REFERENCE", "RULES", "Example", "Rule"]

#: The publication time examples are read against, unless one says otherwise.
EXAMPLE_REFERENCE = datetime(2023, 1, 15, tzinfo=UTC)
#: A sentence that makes an example's document a sports story ("joined" means a team).
SPORTS = " The striker scored twice in the league match."

Triple = tuple[str, str, str]
#: What a rule that reads a title or office may yield (`graph.extract.mapping.role_facts`).
ROLES = (CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_GOV, HEAD_STATE, COACH, TEAM, EMPLOYER, MEMBER)


@dataclass(frozen=True)
class Example:
    """An invented sentence and every fact extraction must give for it.

    Attributes:
        text: The sentence (or a short document).
        holds: (subject, relation, object) of the facts that hold (``negated`` false).
        ended: Those of the facts that say a relation ended (``negated`` true).
        reference: The publication time the text is read against.
    """

    text: str
    holds: tuple[Triple, ...] = ()
    ended: tuple[Triple, ...] = ()
    reference: datetime = EXAMPLE_REFERENCE


@dataclass(frozen=True)
class Rule:
    """One extraction rule.

    Attributes:
        name: Stable identifier, reported by `RuleFactExtractor.explain`.
        pattern: Builds the rule's regex source from the fragments of a lexicon.
        handler: Reads one match and adds drafts (`graph.extract.handlers`).
        yields: The relations the rule may produce (`OPEN` for open relations).
        examples: Invented sentences with their expected facts; at least one.
    """

    name: str
    pattern: Callable[[Fragments], str]
    handler: Callable[[Sentence, re.Match[str]], None]
    yields: tuple[str, ...] = ()
    examples: tuple[Example, ...] = field(default=())


RULES: tuple[Rule, ...] = (
    Rule(
        "succeeded",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>succeeded|succeeds|succeed|succeeding|replaced|replaces|replace|"
            rf"replacing|took\sover\sfrom|takes\sover\sfrom|take\sover\sfrom|taken\sover\sfrom)\s(?:the\s)?"
            rf"(?:(?:outgoing|retiring|departing|former|late|interim)\s)?{f.e('z')}(?!'s)"
            rf"(?:,\s[^,;]{{1,80}}?,)?\s(?:as|at\sthe\shelm\sof)\s(?:the\s)?{f.role}"
        ),
        h.succeeded,
        yields=ROLES,
        examples=(
            Example(
                "Wren Adair succeeded Ossian Pell as chief executive of Tallis Freight in 2021.",
                holds=(("Wren Adair", CEO, "Tallis Freight"),),
                ended=(("Ossian Pell", CEO, "Tallis Freight"),),
            ),
        ),
    ),
    Rule(
        "succeeded_by",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>succeeded|replaced)\sby\s{f.e('z')}(?!'s)\sas\s(?:the\s)?{f.role}"
        ),
        h.succeeded_by,
        yields=ROLES,
        examples=(
            Example(
                "Ossian Pell was succeeded by Wren Adair as chair of Tallis Freight.",
                holds=(("Wren Adair", CHAIR, "Tallis Freight"),),
                ended=(("Ossian Pell", CHAIR, "Tallis Freight"),),
            ),
        ),
    ),
    Rule(
        "appointed",
        lambda f: (
            rf"{f.subj}(?P<adv>{f.adv})(?P<v>appointed|reappointed|re-appointed|named|elected|re-elected|installed|"
            rf"confirmed|chosen|selected|picked|unveiled|announced|hired|recruited|promoted|sworn\sin|"
            rf"inaugurated|voted\sin|tapped|drafted\sin|brought\sin|made|crowned|instated)"
            rf"{f.as_}{f.role}"
        ),
        h.appointed,
        yields=ROLES,
        examples=(
            Example(
                "Juno Marr was appointed chief executive of Orrin Foods in March 2020.",
                holds=(("Juno Marr", CEO, "Orrin Foods"),),
            ),
            Example(
                "Kip Dawe has been named Minister for Coastal Affairs.",
                holds=(("Kip Dawe", POSITION, "Minister for Coastal Affairs"),),
            ),
        ),
    ),
    Rule(
        "org_appoints_role",
        lambda f: (
            rf"{f.e('a')}\s{f.adv}(?P<v>appointed|appoints|appoint|named|names|name|hired|hires|hire|"
            rf"elected|elects|elect|selected|chose|picked|tapped|confirmed|promoted|installed|swore\sin)"
            rf"\s(?:(?:mp|mep|msp|mla)\s)?{f.e('s')}{f.as_}{f.role}"
        ),
        h.org_appoints_role,
        yields=ROLES,
        examples=(
            Example(
                "Orrin Foods appointed Juno Marr chief executive of Orrin Retail.",
                holds=(("Juno Marr", CEO, "Orrin Retail"),),
            ),
        ),
    ),
    Rule(
        "org_appoints",
        lambda f: (
            rf"{f.e('a')}(?:'s\s(?:board(?:\sof\s(?:directors|trustees))?|trustees|shareholders))?"
            rf"\s{f.adv}(?P<v>appointed|appoints|appoint|named|names|name|hired|hires|hire|elected|"
            rf"elects|elect|selected|selects|chose|chooses|picked|tapped|unveiled|confirmed|promoted|"
            rf"installed|swore\sin|recruited)\s(?:(?:its|their|the|a)\s)?"
            rf"(?:(?P<ititle0>{f.org_title})\s)?(?:(?:mp|mep|msp|mla)\s)?{f.e('s')}"
            rf"(?:{f.as_}{f.irole}(?:\s(?:of|on)\s(?:its|their)\s(?:board|trustees|council)"
            rf"(?:\sof\s(?:directors|trustees))?{f.b})?(?!\s(?:of|at|for)\s))?"
        ),
        h.org_appoints,
        yields=ROLES,
        examples=(
            Example(
                "Orrin Foods named Juno Marr as its chair.",
                holds=(("Juno Marr", CHAIR, "Orrin Foods"),),
            ),
            Example(
                "The Fenwold Trust named Ada Pennick as its director.",
                holds=(("Ada Pennick", HEAD, "Fenwold Trust"),),
            ),
            Example(
                "Brindle Bank confirmed Rafe Okoro as chairman of its board.",
                holds=(("Rafe Okoro", CHAIR, "Brindle Bank"),),
            ),
        ),
    ),
    Rule(
        "became",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<neg>no\slonger\s)?(?P<v>became|becomes|become|becoming|took\sover\sas|"
            rf"takes\sover\sas|take\sover\sas|took\soffice\sas|takes\soffice\sas|assumed\soffice\sas|"
            rf"assumed\sthe\srole\sof|assumes\sthe\srole\sof|took\sup\sthe\s(?:role|post)\sof|"
            rf"takes\sup\sthe\s(?:role|post)\sof|stepped\sup\sas|steps\sin\sas|stepped\sin\sas|"
            rf"returns\sas|returned\sas|begins\s(?:his|her|their)\stenure\sas|"
            rf"began\s(?:his|her|their)\stenure\sas|started\sas|starts\sas|continues\sas|"
            rf"serves\sas|served\sas|serving\sas|(?:is|was)\sback\sas|has\sbeen|have\sbeen|had\sbeen|"
            rf"is|was|were|remains|remained|'s)\s(?:(?:a|an|the)\s)?{f.role}"
        ),
        h.became,
        yields=ROLES,
        examples=(
            Example(
                "Tamsin Roe became Prime Minister of Valdora in 2018.",
                holds=(
                    ("Tamsin Roe", POSITION, "Prime Minister of Valdora"),
                    ("Tamsin Roe", HEAD_GOV, "Valdora"),
                ),
            ),
            Example(
                "Tamsin Roe is the president of the Harlow Debating Society, which meets weekly.",
                holds=(("Tamsin Roe", PRESIDENT, "Harlow Debating Society"),),
            ),
        ),
    ),
    Rule(
        "no_longer",
        lambda f: rf"{f.subj}{f.adv}(?P<v>no\slonger)\s(?:(?:a|an|the)\s)?{f.role}",
        h.no_longer,
        yields=ROLES,
        examples=(
            Example(
                "Ezra Finch is no longer the chair of Dunmore Mills.",
                ended=(("Ezra Finch", CHAIR, "Dunmore Mills"),),
            ),
        ),
    ),
    Rule(
        "appositive",
        lambda f: (
            rf"{f.e('s')}{f.postnom}(?:,\s\d{{1,3}})?(?P<v>,)\s(?:(?:a|an|the|its|their)\s)?{f.role}"
            rf"(?=\s?(?:,|\.|;|\)|$|\s(?:said|says|told|added|and|who|has|had|is|was|will|explained|at|in|on|"
            rf"during|with|from|"
            rf"announced|wrote|noted)\b))"
        ),
        h.stative_role,
        yields=ROLES,
        examples=(
            Example(
                "Ivo Stark, chief executive of Pellam Robotics, said sales rose.",
                holds=(("Ivo Stark", CEO, "Pellam Robotics"),),
            ),
        ),
    ),
    Rule(
        "pretitle",
        lambda f: rf"(?<![\w'⟩-])(?P<v>){f.role_strict}(?P<comma>,)?\s{f.e('s')}(?(comma),|(?!'s))",
        h.stative_role,
        yields=ROLES,
        examples=(
            Example(
                "Pellam Robotics chief executive Ivo Stark said sales rose.",
                holds=(("Ivo Stark", CEO, "Pellam Robotics"),),
            ),
        ),
    ),
    Rule(
        "listed",
        lambda f: (
            rf"^(?:in:\s|out:\s)?{f.e('s')}{f.postnom}\s?(?P<v>[:–—-])\s(?:the\s)?{f.role}"
            rf"(?=\s?(?:[,;.]|$|\sand\s))"
        ),
        h.stative_role,
        yields=ROLES,
        examples=(
            Example(
                "Cora Lind: minister for inland waterways",
                holds=(("Cora Lind", POSITION, "Minister for Inland Waterways"),),
            ),
        ),
    ),
    Rule(
        "left_role",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>{f.leave_verbs}|replaced)\s(?:as|from)\s(?:(?:his|her|their|the)\s"
            rf"(?:role|post|position|job)\s(?:as|of)\s)?(?:the\s)?{f.role}"
            rf"(?:\s(?:by|with)\s{f.e('by')})?"
        ),
        h.left_role,
        yields=ROLES,
        examples=(
            Example(
                "Greta Vane stepped down as chair of Osterly Mills in 2021.",
                ended=(("Greta Vane", CHAIR, "Osterly Mills"),),
            ),
        ),
    ),
    Rule(
        "left_org",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>{f.leave_verbs})\s(?:from\s)?(?:the\s)?(?:(?:board|role|post|position)"
            rf"\s(?:of|at)\s(?:the\s)?)?{f.e('o')}(?!'s)"
        ),
        h.left_org,
        yields=(
            EMPLOYER,
            TEAM,
            COACH,
            MEMBER,
        ),
        examples=(
            Example(
                "Milo Tarn left Harrowgate Labs in 2020.",
                ended=(("Milo Tarn", EMPLOYER, "Harrowgate Labs"),),
            ),
        ),
    ),
    Rule(
        "joined",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<neg>no\slonger\s)?(?P<v>joined|joins|join|joining|rejoined|rejoins|"
            rf"rejoin|re-joined|re-joins|"
            rf"(?:signed|signs|agreed|agrees)\s(?:a|an)\s(?:[\w£$€.,-]+\s){{0,3}}(?:deal|contract|terms)\sto\sjoin|"
            rf"(?:agreed|agrees|agreeing)\sto\sterms(?:\son\s(?:a|an)\s(?:[\w£$€.,-]+\s){{0,3}}(?:deal|contract))?"
            rf"\swith|(?:extended|extends|extending)\s(?:his|her|their)\s(?:[\w-]+\s){{0,2}}(?:contract|deal)\s"
            rf"with|agreeing\swith|(?:is|was|are|were)\s(?:currently\s)?on\sthe\s(?:roster|books)\s(?:of|for|at)|"
            rf"(?:signed|signs|sign|agreed|agrees)\s(?:(?:a|an|his|her)\s)?"
            rf"(?:[\w£$€.,-]+\s){{0,3}}(?:deal|contract|terms)\swith|"
            rf"scored\s(?:(?:his|her|a|the|their)\s)?(?:[\w-]+\s){{0,2}}(?:goal|try|goals|points)\sfor|"
            rf"(?:is|be|was|are|were|been)\spart\sof|signed\son\swith|signs\son\swith|"
            rf"rides\sfor|rode\sfor|races\sfor|raced\sfor|riding\sfor|racing\sfor|named\sto|"
            rf"called\sup\sto|signed\s(?:for|with|to)|signs\s(?:for|with|to)|"
            rf"sign\s(?:for|with|to)|signing\s(?:for|with)|re-signed\swith|re-signs\swith|"
            rf"completed\s(?:a|his|her|the)\s(?:[\w£$€.,-]+\s){{0,3}}(?:move|switch|transfer)\sto|"
            rf"completes\s(?:a|his|her|the)\s(?:[\w£$€.,-]+\s){{0,3}}(?:move|switch|transfer)\sto|"
            rf"moved\sto|moves\sto|move\sto|switched\sto|switches\sto|transferred\sto|returned\sto|"
            rf"returns\sto|return\sto|plays\sfor|played\sfor|playing\sfor|play\sfor|scored\sfor|"
            rf"made\s(?:his|her)\sdebut\sfor|debuted\sfor|committed\sto|commits\sto|"
            rf"(?:was\s|is\s|been\s)?loaned\s(?:out\s)?to|(?:is\s|was\s|currently\s)?on\sloan\s(?:at|with)|"
            rf"works\s(?:for|at)|worked\s(?:for|at)|working\s(?:for|at))\s"
            rf"{f.side}(?:the\s)?{f.e('o')}(?:'s\s(?:⟨E(?P<o2>\d+)⟩|(?:[a-z-]+\s){{0,2}}(?:team|squad|side)))?(?!'s)"
            rf"(?:\s(?P<loan1>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan\s)?from\s{f.side}(?:the\s)?{f.e('frm')})?"
            rf"(?:\s(?P<loan2>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan))?"
            rf"(?:\sas\s(?:(?:the|a|an|its|their)\s)?(?:{f.irole}|{f.role}))?"
        ),
        h.joined,
        yields=ROLES,
        examples=(
            Example(
                "Milo Tarn joined Harrowgate Labs in 2019.",
                holds=(("Milo Tarn", EMPLOYER, "Harrowgate Labs"),),
            ),
            Example(
                "Ossie Bram joined Kelmscott Rovers on loan from Daleford United." + SPORTS,
                holds=(("Ossie Bram", TEAM, "Kelmscott Rovers"),),
            ),
        ),
    ),
    Rule(
        "club_signs",
        lambda f: (
            rf"{f.e('a')}\s{f.adv}(?P<v>signed|signs|sign|re-signed|re-signs|acquired|acquires|acquire|"
            rf"landed|lands|land|recruited|recruits|snapped\sup|snaps\sup|brought\sin|brings\sin|"
            rf"drafted|drafts|claimed|added|selected|(?:completed|confirmed|announced|secured|completes|confirms|"
            rf"announces|secures|announce|confirm|complete|secure)\sthe\s(?:[^⟨;]{{0,25}}\s)?signing\sof)"
            rf"\s(?:(?:the|new|young|veteran|former|highly-rated|teenage|talented|\d+-year-old|"
            rf"(?:{f.position})s?)\s){{0,3}}(?:{f.any_e}\s(?:[a-z-]+\s){{0,2}}?(?:(?:{f.position}|transfer|\d+-year-old)\s){{1,2}})?"
            rf"{f.e('s')}(?!'s)"
            rf"(?P<more>(?:,\s{f.any_e}(?!'s))*,?\sand\s{f.any_e}(?!'s))?"
            rf"(?:\s(?P<loan1>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan\s)?from\s{f.side}(?:the\s)?{f.e('frm')})?"
            rf"(?:\s(?P<loan2>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan))?"
        ),
        h.club_signs,
        yields=(TEAM,),
        examples=(
            Example(
                "Kelmscott Rovers have signed Ossie Bram from Daleford United.",
                holds=(("Ossie Bram", TEAM, "Kelmscott Rovers"),),
                ended=(("Ossie Bram", TEAM, "Daleford United"),),
            ),
        ),
    ),
    Rule(
        "sends",
        lambda f: (
            rf"{f.e('a')}\s{f.adv}(?P<v>sent|sends|traded|trades|loaned|loans|sold|sells|released|"
            rf"releases|waived|waives|cut|parted\scompany\swith|parted\sways\swith|sacked|sacks|fired|"
            rf"fires|dismissed|dismisses|axed|axes)\s(?:(?:the|their|its|his|her)\s)?"
            rf"(?:(?P<stitle>{f.org_title}|{f.position})\s)?{f.e('s')}(?!'s)(?:\sto\s(?:the\s)?{f.e('to')})?"
        ),
        h.sends,
        yields=(
            TEAM,
            COACH,
            EMPLOYER,
            OWNER,
        ),
        examples=(
            Example(
                "Daleford United sent Ossie Bram to Kelmscott Rovers." + SPORTS,
                holds=(("Ossie Bram", TEAM, "Kelmscott Rovers"),),
                ended=(("Ossie Bram", TEAM, "Daleford United"),),
            ),
        ),
    ),
    Rule(
        "signed_by",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>signed|acquired|drafted|claimed|picked\sup|snapped\sup|recruited|"
            rf"loaned|traded|sent)\s(?:(?:[^⟨;,]{{0,40}}?|⟨T\d+⟩)\s)?(?:by|to)\s(?:the\s)?{f.e('o')}(?!'s)"
        ),
        h.signed_by,
        yields=(TEAM,),
        examples=(
            Example(
                "Ossie Bram was signed by Kelmscott Rovers." + SPORTS,
                holds=(("Ossie Bram", TEAM, "Kelmscott Rovers"),),
            ),
        ),
    ),
    Rule(
        "of_team",
        lambda f: rf"{f.e('s')}(?P<v>\sof)\s(?:the\s)?{f.e('o')}(?=[,.;)]|\s[a-z]|$)",
        h.of_team,
        yields=(TEAM,),
        examples=(
            Example(
                "Ossie Bram of Kelmscott Rovers scored the winner." + SPORTS,
                holds=(("Ossie Bram", TEAM, "Kelmscott Rovers"),),
            ),
        ),
    ),
    Rule(
        "paren_team",
        lambda f: rf"{f.e('s')}\s(?P<v>\()(?:the\s)?{f.e('o')}\)",
        h.of_team,
        yields=(TEAM,),
        examples=(
            Example(
                "The stage went to Ines Brook (Team Alder Vale) in the race." + SPORTS,
                holds=(("Ines Brook", TEAM, "Team Alder Vale"),),
            ),
        ),
    ),
    Rule(
        "poss_team",
        lambda f: rf"(?<![\w⟩])(?P<v>){f.e('o')}'s\s{f.e('s')}(?!'s)(?=\s[a-z]|[,.;]|$)",
        h.of_team,
        yields=(TEAM,),
        examples=(
            Example(
                "Kelmscott Rovers' Ossie Bram scored the winner." + SPORTS,
                holds=(("Ossie Bram", TEAM, "Kelmscott Rovers"),),
            ),
        ),
    ),
    Rule(
        "leads",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>leads|led|heads|headed|chairs|chaired|runs|ran|coaches|coached|"
            rf"manages|managed|captains|captained)\s(?:the\s)?{f.e('o')}(?!'s|\s(?:to|in|past|against|"
            rf"with|into|through|for|on)\b)"
        ),
        h.leads,
        yields=(
            HEAD,
            CHAIR,
            COACH,
            TEAM,
        ),
        examples=(
            Example(
                "Petra Quell leads the Lowland Farmers Party.",
                holds=(("Petra Quell", HEAD, "Lowland Farmers Party"),),
            ),
            Example(
                "Petra Quell chaired the Harlow Arts Council.",
                ended=(("Petra Quell", CHAIR, "Harlow Arts Council"),),
            ),
        ),
    ),
    Rule(
        "married",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>married|marries|marry|wed|weds|is\smarried\sto|was\smarried\sto|"
            rf"married\sto|got\smarried\sto|gets\smarried\sto|tied\sthe\sknot\swith|ties\sthe\sknot\swith|"
            rf"is\sengaged\sto|engaged\sto|got\sengaged\sto|became\sengaged\sto|is\sdating|was\sdating|"
            rf"dating|dated|is\sin\sa\srelationship\swith|in\sa\srelationship\swith|divorced|divorces|"
            rf"split\sfrom|splits\sfrom|split\swith|broke\sup\swith|breaks\sup\swith|separated\sfrom|"
            rf"filed\sfor\sdivorce\sfrom)\s(?:(?:his|her|their)\s(?:longtime\s|long-time\s)?"
            rf"(?:{f.kin})\s)?(?:the\s)?{f.e('o')}(?!'s)"
        ),
        h.married,
        yields=(
            SPOUSE,
            PARTNER,
        ),
        examples=(
            Example(
                "Aldous Penn married Clara Voss in June 2015.",
                holds=(("Aldous Penn", SPOUSE, "Clara Voss"),),
            ),
            Example(
                "Aldous Penn divorced Clara Voss in 2020.",
                ended=(("Aldous Penn", SPOUSE, "Clara Voss"),),
            ),
        ),
    ),
    Rule(
        "kin",
        lambda f: (
            rf"{f.e('s')}(?:'s\s|\sand\s(?:his|her)\s|\swith\s(?:his|her)\s|,\s(?:and\s)?(?:his|her)\s)"
            rf"(?P<kmods>(?:(?:new|late|former|ex-|longtime|long-time|then|now|current)\s?)*)"
            rf"(?P<v>{f.kin}),?\s(?:the\s)?{f.e('o')}"
        ),
        h.kin,
        yields=(
            SPOUSE,
            PARTNER,
        ),
        examples=(
            Example(
                "Aldous Penn and his wife Clara Voss opened the shop.",
                holds=(("Aldous Penn", SPOUSE, "Clara Voss"),),
            ),
        ),
    ),
    Rule(
        "kin_reverse",
        lambda f: (
            rf"{f.e('o')},\s{f.e('s')}'s\s(?P<kmods>(?:(?:new|late|former|ex-|longtime|long-time)\s?)*)"
            rf"(?P<v>{f.kin})"
        ),
        h.kin,
        yields=(
            SPOUSE,
            PARTNER,
        ),
        examples=(
            Example(
                "Clara Voss, Aldous Penn's wife, opened the shop.",
                holds=(("Aldous Penn", SPOUSE, "Clara Voss"),),
            ),
        ),
    ),
    Rule(
        "hq",
        lambda f: (
            rf"{f.e('s')}(?:,\s(?:which\s(?:is|was)\s|(?:a|an|the)\s[^,;⟨]{{0,40}}?\s)?|\s(?:is|are|was|"
            rf"were|has\sbeen|remains|(?:is|are)\scurrently)\s)(?P<v>headquartered|based|located)\s"
            rf"(?:in|at)\s(?:the\s)?{f.e('o')}"
        ),
        h.hq,
        yields=(
            HQ,
            LOCATED,
        ),
        examples=(
            Example(
                "Tallis Freight is headquartered in Marlow Bay.",
                holds=(("Tallis Freight", HQ, "Marlow Bay"),),
            ),
        ),
    ),
    Rule(
        "hq_move",
        lambda f: (
            rf"{f.e('s')}\s{f.adv}(?P<v>moved|moves|relocated|relocates|relocate|move|will\smove|"
            rf"is\smoving|shifted|shifts)\s(?:its|their)\s(?:global\s|corporate\s|european\s)?"
            rf"(?:headquarters|hq|head\soffice)\s(?:from\s(?:the\s)?{f.e('frm')}\s)?to\s(?:the\s)?{f.e('o')}"
        ),
        h.hq_move,
        yields=(HQ,),
        examples=(
            Example(
                "Tallis Freight moved its headquarters from Marlow Bay to Eastwick in 2021.",
                holds=(("Tallis Freight", HQ, "Eastwick"),),
                ended=(("Tallis Freight", HQ, "Marlow Bay"),),
            ),
        ),
    ),
    Rule(
        "hq_poss",
        lambda f: (
            rf"{f.e('s')}'s\s(?:global\s|corporate\s)?(?:headquarters|hq|head\soffice)\s(?P<v>is|are)\s"
            rf"(?:located\s)?in\s(?:the\s)?{f.e('o')}"
        ),
        h.hq_poss,
        yields=(HQ,),
        examples=(
            Example(
                "Tallis Freight's headquarters is in Marlow Bay.",
                holds=(("Tallis Freight", HQ, "Marlow Bay"),),
            ),
        ),
    ),
    Rule(
        "owned",
        lambda f: (
            rf"{f.e('s')}(?:,|\s(?:is|are|was|were|has\sbeen|remains|(?:is|are)\snow))\s(?:(?:wholly|"
            rf"majority|partly|now|currently|privately|jointly)[\s-])?(?P<v>owned|controlled)\sby\s"
            rf"(?:the\s)?{f.e('o')}"
        ),
        h.owned,
        yields=(OWNER,),
        examples=(
            Example(
                "Dunmore Mills is owned by Calder Holdings.",
                holds=(("Dunmore Mills", OWNER, "Calder Holdings"),),
            ),
        ),
    ),
    Rule(
        "subsidiary",
        lambda f: (
            rf"{f.e('s')}(?:,|\s(?:is|was|became))\s(?:(?:a|an|the)\s)?(?:wholly[\s-]owned\s)?"
            rf"(?P<v>subsidiary|unit|division)\sof\s(?:the\s)?{f.e('o')}"
        ),
        h.owned,
        yields=(OWNER,),
        examples=(
            Example(
                "Dunmore Mills is a subsidiary of Calder Holdings.",
                holds=(("Dunmore Mills", OWNER, "Calder Holdings"),),
            ),
        ),
    ),
    Rule(
        "acquired",
        lambda f: (
            rf"{f.e('o')}\s{f.adv}(?P<v>owns|acquired|acquires|bought|buys|purchased|purchases|"
            rf"took\sover|takes\sover|completed\s(?:its|the)\s(?:acquisition|purchase|takeover)\sof)\s"
            rf"(?:(?:rival|fellow|the)\s)?{f.e('s')}(?!'s)"
        ),
        h.acquired,
        yields=(OWNER,),
        examples=(
            Example(
                "Calder Holdings acquired Dunmore Mills in 2019.",
                holds=(("Dunmore Mills", OWNER, "Calder Holdings"),),
            ),
        ),
    ),
    Rule(
        "member",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>is|was|has\sbeen|became|becomes|remains)\s(?:(?:a|an)\s)?"
            rf"(?:[a-z-]+\s){{0,2}}?member\sof\s(?:the\s)?{f.e('o')}"
        ),
        h.member,
        yields=(
            MEMBER,
            POSITION,
            TEAM,
        ),
        examples=(
            Example(
                "Petra Quell is a board member of the Lowland Farmers Party.",
                holds=(("Petra Quell", MEMBER, "Lowland Farmers Party"),),
            ),
        ),
    ),
    Rule(
        "noun_event",
        lambda f: (
            rf"(?:(?:the|his|her)\s)?(?P<v>appointment|election|hiring|promotion|installation|"
            rf"resignation|departure|exit|sacking|dismissal|firing|retirement|move|transfer|switch|"
            rf"loan\smove)\sof\s{f.e('s')}(?:\s(?:as|to)\s(?:the\s)?{f.role}|\s(?:to|from|at)\s(?:the\s)?"
            rf"{f.e('o')})"
        ),
        h.noun_event,
        yields=ROLES,
        examples=(
            Example(
                "The appointment of Juno Marr as chief executive of Orrin Foods came in 2020.",
                holds=(("Juno Marr", CEO, "Orrin Foods"),),
            ),
        ),
    ),
    Rule(
        "noun_event_poss",
        lambda f: (
            rf"{f.e('s')}'s\s(?:(?:permanent|loan|season-long|shock|surprise|\w+-million)\s)*"
            rf"(?P<v>appointment|election|promotion|resignation|departure|exit|sacking|dismissal|"
            rf"retirement|move|transfer|switch)(?:\s(?:as|to)\s(?:the\s)?{f.role}|\s(?:to|from|at)\s"
            rf"(?:the\s)?{f.e('o')})"
        ),
        h.noun_event,
        yields=ROLES,
        examples=(
            Example(
                "Juno Marr's resignation as chief executive of Orrin Foods came in 2022.",
                ended=(("Juno Marr", CEO, "Orrin Foods"),),
            ),
        ),
    ),
    Rule(
        "org_announces_role",
        lambda f: (
            rf"{f.e('a')}\s{f.adv}(?:said|says|announced|announces|confirmed|confirms)\s(?:that\s)?"
            rf"(?:(?:on|in)\s⟨T\d+⟩,?\s)?{f.e('s')}\s{f.adv}(?P<v>become|becomes|take\sover\sas|"
            rf"takes\sover\sas|join\sas|joins\sas|step\sup\sas|steps\sup\sas|return\sas|returns\sas)"
            rf"\s(?=(?:its|their)\s){f.irole}"
        ),
        h.org_announces_role,
        yields=ROLES,
        examples=(
            Example(
                "Quillon Robotics said Orla Fenwick will become its chief executive.",
                holds=(("Orla Fenwick", CEO, "Quillon Robotics"),),
            ),
        ),
    ),
    Rule(
        "left_for",
        lambda f: (
            rf"{f.subj}{f.adv}(?P<v>left|leaves|quit|quits)\s(?:the\s)?{f.e('frm')}(?!'s)"
            rf"\sfor\s(?:the\s)?{f.e('o')}(?!'s)"
        ),
        h.left_for,
        yields=(
            EMPLOYER,
            TEAM,
            MEMBER,
        ),
        examples=(
            Example(
                "Orla Fenwick left Marrow Systems for Quillon Robotics in 2019.",
                holds=(("Orla Fenwick", EMPLOYER, "Quillon Robotics"),),
                ended=(("Orla Fenwick", EMPLOYER, "Marrow Systems"),),
            ),
        ),
    ),
    Rule(
        "open_apposition",
        lambda f: (
            rf"{f.e('s')}{f.postnom},\s(?:the|a|an)\s(?P<v>[a-z][a-z-]+)\sof\s(?:the\s)?{f.e('o')}"
            rf"(?!'s)(?=\s?(?:,|\.|;|\)|$))"
        ),
        h.open_role,
        yields=(OPEN,),
        examples=(
            Example(
                "Orla Fenwick, the founder of Quillon Robotics, said sales rose.",
                holds=(("Orla Fenwick", "founder of", "Quillon Robotics"),),
            ),
        ),
    ),
    Rule(
        "open_copula",
        lambda f: (
            rf"{f.subj}(?:(?:also|now|still)\s)?(?:is|was|remains|has\sbeen)\s(?:the|a|an)\s"
            rf"(?P<v>[a-z][a-z-]+)\sof\s(?:the\s)?{f.e('o')}(?!'s)"
        ),
        h.open_role,
        yields=(OPEN,),
        examples=(
            Example(
                "Orla Fenwick is the patron of the Harlow Arts Council.",
                holds=(("Orla Fenwick", "patron of", "Harlow Arts Council"),),
            ),
        ),
    ),
)

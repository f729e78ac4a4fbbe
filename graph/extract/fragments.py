"""Regex fragments the rules are written with: subjects, roles, auxiliaries, clubs.

A rule in `graph.extract.rules` reads like a sentence template because these pieces carry the
detail: ``{f.subj}{f.adv}(?P<v>appointed){f.as_}{f.role}`` is "X (has been) appointed (as)
<role>". They are built from a `Lexicon`, so a deployment's extra titles or offices reach
every rule at once. Group names are an interface with `graph.extract.mapping.role_facts`:
``s``/``o`` are entities, ``v`` is the trigger, ``title``/``office``/``ptitle``/``pretitle``/
``ititle`` say which kind of role matched.
"""

from __future__ import annotations

from graph.extract.lexicon import Lexicon

__all__ = ["Fragments"]

_B = r"(?![\w-])"  # word end
_ANY_E = r"⟨E\d+⟩"
_POSTNOM = r"(?:,?\s(?:mp|mep|msp|mla|mpp|qc|kc|obe|mbe|cbe|phd)(?![\w-]))*"
# Auxiliaries, adverbs and times between a subject and its verb ("has been", "on Monday").
_ADV = (
    r"(?:(?:has|have|had|was|were|is|are|will|be|been|being|also|now|then|officially|finally|currently|"
    r"just|already|recently|formally|reportedly|subsequently|later|eventually|once|previously|"
    r"initially|originally|again|ultimately|duly|today|yesterday|unanimously|quietly|"
    r"(?:is|are|was|were)\s(?:set|expected|due|poised|scheduled|going)\sto|(?:agreed|decided|"
    r"opted)\sto|to)\s|(?:(?:on|in|at|this|last|earlier|later)\s)?⟨T\d+⟩,?\s){0,6}"
)
_LC_TAIL_WORD = (
    r"(?<![\w'-])(?!(?:said|says|has|have|had|is|was|were|will|on|in|at|who|which|that|when|after|before|"
    r"and|but|with|from|since|until|as|by|for|to|of|the|a|an|announced|told|added|he|she|it|"
    r"they|his|her|him|them|its|their|under|over|latest|now|then|also|still|made|become|been|"
    r"sworn|chosen|given|taken|set|put|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)\b)[a-z][a-z-]+"
)
# An open-class lower-case word inside an office ("coastal waters minister"): no verb forms.
_LC_OFFICE_MOD = rf"(?![a-z]+(?:ed|ing)\b){_LC_TAIL_WORD}"
_OFF_TAIL = (
    rf"(?:\s(?:of|for|to)\s(?:the\s)?(?:{_ANY_E}(?:(?:,\s{_ANY_E})*,?\s(?:and|&)\s{_ANY_E})?"
    rf"(?:\s(?:of|in)\s(?:the\s)?{_ANY_E})?"
    rf"|{_LC_TAIL_WORD}(?:,?\s(?:and\s)?{_LC_TAIL_WORD}){{0,5}}))"
)
_AS = (
    r"(?:\s(?:as|to\sbe|to\sthe\s(?:role|post|position)\sof|into\sthe\s(?:role|post)\sof|to))?"
    r"\s(?:the\s)?"
)
_LEAVE_VERBS = (
    r"stepped\sdown|steps\sdown|step\sdown|stepping\sdown|stood\sdown|stands\sdown|"
    r"stand\sdown|resigned|resigns|resign|resigning|quit|quits|retired|retires|retire|departed|"
    r"departs|depart|left|leaves|leave|leaving|exited|exits|sacked|fired|dismissed|ousted|"
    r"removed|axed|released|relieved\sof\s(?:his|her)\sduties|let\sgo|"
    r"lost\s(?:his|her)\s(?:job|seat|role|position)|parted\s(?:company|ways)\swith|"
    r"ended\s(?:his|her)\s(?:spell|tenure|time)\s(?:at|with)"
)


def e(name: str) -> str:
    """An entity placeholder captured as group ``name`` (its item index)."""
    return rf"⟨E(?P<{name}>\d+)⟩"


class Fragments:
    """The fragments for one lexicon; attributes are regex source strings."""

    b = _B
    any_e = _ANY_E
    postnom = _POSTNOM
    adv = _ADV
    as_ = _AS
    leave_verbs = _LEAVE_VERBS
    e = staticmethod(e)

    def __init__(self, lx: Lexicon) -> None:
        self.org_title = lx.org_title
        self.position = lx.position
        self.kin = lx.kin
        role_mods = lx.role_mods
        self._lx = lx
        self.any_title = rf"(?:{lx.office_head}|{lx.org_title}|{lx.job_title}|{lx.position})"
        #: A role: "chief executive of ⟨E⟩", "⟨E⟩'s chair", "Secretary of State for ⟨E⟩".
        self.role = self._role(role_mods, open_modifiers=True)
        self.role_strict = self._role(role_mods, open_modifiers=False)
        #: A role with no organisation named; the rule supplies it ("Y named X as its chair").
        self.irole = (
            rf"(?P<imods>(?:(?:{role_mods}){_B}\s?)*)"
            rf"(?P<ititle>{lx.org_title}|{lx.job_title}|{lx.position}){_B}"
        )
        #: A subject: a name, with an age, a parenthesis or an appositive gap before its verb.
        self.subj = (
            rf"{e('s')}{_POSTNOM}(?:\s\(\d{{1,2}}\))?"
            rf"(?:(?P<who>,\s(?:who|which)\s)|(?P<gap>,\s[^;⟨]{{0,60}}?(?:⟨[ET]\d+⟩[^;⟨]{{0,40}}?){{0,3}},)\s"
            rf"|(?P<gap2>\s(?:is|was)\s(?:a|an)\s(?:[^,;⟨]|⟨E\d+⟩){{1,50}}?\s(?:who\s|(?=(?:now\s|currently\s)?"
            rf"serving\s)))|\s)"
        )
        #: "Harbour League side", "second-tier club": a descriptor before a team's name.
        self.side = (
            rf"(?:(?:the\s)?(?:(?:{_ANY_E}|(?!(?:from|to|with|at|for|on|in|of|and|by)\s)[a-z][\w-]*)\s){{0,3}}?"
            rf"(?:side|club|outfit|team|franchise)\s)?"
        )

    def _role(self, role_mods: str, *, open_modifiers: bool) -> str:
        """The role fragment; ``open_modifiers`` lets offices take any lower-case words before
        the head ("coastal waters minister"). Only safe where the role starts at a fixed place
        (after "as", "appointed", "is the"), not where a search may start it anywhere."""
        lx = self._lx
        office_mods = (
            rf"(?:{lx.office_mods}|{_LC_OFFICE_MOD}|and)"
            if open_modifiers
            else rf"(?:{lx.office_mods})"
        )
        mods = rf"(?P<mods>(?:(?:{role_mods}){_B}\s?)*)"
        pmods = rf"(?P<pmods>(?:(?:{role_mods}){_B}\s?)*)"
        pmods2 = rf"(?P<pmods2>(?:(?:{role_mods}){_B}\s?)*)"
        titles = rf"{lx.org_title}|{lx.job_title}|{lx.position}"
        coord = rf"(?:\s(?:and|&)\s(?:{self.any_title}))?"
        return (
            rf"{mods}(?:"
            rf"{e('poss')}'s\s{pmods}(?P<ptitle>(?:(?:{lx.office_mods})\s)*{self.any_title}){_B}"
            rf"|(?P<title>{titles}){coord}\s(?P<conn>of|at|for|with)\s"
            rf"(?:the\s)?(?:{_ANY_E}'s\s)?{e('tobj')}"
            rf"|(?P<office>(?:{_ANY_E}\s)?(?:{office_mods}\s){{0,4}}(?:{lx.office_head}){_B}{_OFF_TAIL}?)"
            rf"|{e('pre')}\s{pmods2}(?P<pretitle>{titles}){_B}"
            rf")"
        )

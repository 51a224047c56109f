"""English word lists the stages decide by for an English transcript (what is no chapter or keyword), the
counterparts of `dutch.py`'s."""

from __future__ import annotations

INTERJECTIONS = frozenset(
    "yes yeah yep no nope okay ok right sure exactly indeed absolutely true agreed hm hmm mm uh um er erm "
    "ah oh wow great good fine cool nice thanks laughter [laughter] (laughter) applause [applause]".split()
)
"""Backchannel words and laughter: a turn of a few of these only stays inside the surrounding chapter."""
FILLERS = frozenset({"uh", "uhm", "uhh", "um", "umm", "er", "erm", "hm", "hmm", "mmm", "ah"})
"""Hesitations dropped before scoring."""
CONVERSATIONAL_STOPWORDS = frozenset(
    """
    yes no yeah okay ok well just really actually basically kind sort thing things stuff think thought
    know knew known say said says saying tell told go goes going went gone come comes came coming do does
    did done doing get gets got make makes made see sees saw seen look have has had want wants wanted
    would could should might must can will shall people someone something nothing anything everything
    lot lots bit time times always never sometimes often first question questions thanks thank welcome
    maybe perhaps sure mean means let
    """.split()
)
"""Words of talk, not of topic, that disqualify a keyword."""
NOUN_DETERMINERS = frozenset(
    "the a an this that these those my your our their his her its every each no some any another".split()
)
"""Words after which (or after which and an adjective) a word is used as a noun: a keyword must be."""

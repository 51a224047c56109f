"""Dutch word lists the stages decide by (where a subtitle line may break, what is no chapter, keyword or
name), and the Dutch names of languages for the page's labels. The chapters, summaries and terms stages
use the lists of the transcript's language (`languages.language_words`): these for a Dutch transcript."""

from __future__ import annotations

# Word classes for subtitle line and cue breaks (lower case, punctuation stripped).
ARTICLES_AND_DETERMINERS = frozenset(
    "de het een 't 'n deze dit mijn m'n jouw z'n onze uw elk elke ieder iedere geen welk alle enkele "
    "sommige menig".split()
)
"""Words that always open a noun phrase: a subtitle line or cue never breaks right after one."""
AMBIGUOUS_DETERMINERS = frozenset("die dat je zijn haar ons hun jullie welke beide".split())
"""Determiners that are as often pronouns, verbs or conjunctions ("zijn", "dat"): avoid, not forbid."""
CONJUNCTIONS = frozenset(
    "en of maar want dus dat omdat als wanneer terwijl hoewel zodat doordat voordat nadat totdat zoals "
    "indien tenzij ofwel noch toen waardoor waarbij waarin waarmee waarvan waarop die wat wie welke "
    "zodra opdat alsof mits ook".split()
)
"""Words that open a clause: a subtitle line or cue breaks well just before one."""
PREPOSITIONS = frozenset(
    "in op aan met van voor naar bij door over onder uit tot om tegen tussen na zonder binnen buiten "
    "langs sinds tijdens vanaf volgens achter naast boven rond via per behalve ondanks wegens vanuit "
    "richting omtrent jegens".split()
)
"""Prepositions: a subtitle break just before one is fair, just after one poor."""
NAME_PARTICLES = frozenset("van de der den het 't ter ten te von la le du da di".split())
"""Lower-case particles inside a surname ("Anne van der Berg"): a subtitle line never splits a name at one."""
INTRODUCED_NAME_PARTICLES = NAME_PARTICLES | {"van't"}
"""Particles inside a name a speaker introduces themself with ("ik ben Pieter van't Hof")."""
NON_NAME_WORDS = frozenset(
    {"Ik", "Het", "De", "Een", "Dat", "Dit", "Er", "Hier", "Nu", "Blij", "Ja", "Nee", "Heel", "Echt"}
)
"""Capitalised words that can follow "ik ben" or "mijn naam is" without being a name."""

INTERJECTIONS = frozenset(
    "ja nee jaja precies inderdaad oké ok okee hm hmm hmhm mm uh eh ehm uhm ah oh o goed klopt zeker "
    "absoluut natuurlijk mooi prima echt wauw haha gelach [gelach] (gelach) dank dankjewel".split()
)
"""Backchannel words and laughter: a turn of a few of these only stays inside the surrounding chapter."""
FILLERS = frozenset({"eh", "ehm", "ehh", "euh", "uh", "uhm", "uhh", "um", "umm", "hm", "hmm", "mmm", "öh", "ah"})
"""Hesitations dropped before scoring (Whisper mostly omits them; other transcripts may not)."""
CONVERSATIONAL_STOPWORDS = frozenset(
    """
    ja nee nou oké okay ok goed gewoon eigenlijk natuurlijk echt heel even dus toch zeg zeggen gezegd
    denk denken vind vinden weet weten gaan gaat ging komen komt kwam doen doet deed zitten zit zien
    zie ziet hebben heeft had hadden zijn is was waren wordt worden werd kunnen kan kon moeten moet
    willen wil zullen zal zou zouden mogen mag allemaal iets niets iemand mensen ding dingen beetje
    keer soms vaak altijd nooit eerst daarna precies inderdaad zeker vraag vragen bedankt dank welkom
    """.split()
)
"""Words of talk, not of topic, that disqualify a keyword."""
NOUN_DETERMINERS = frozenset(
    "de het een deze dit die dat onze ons mijn m'n je jouw zijn z'n haar hun uw elke ieder iedere geen welke".split()
)
"""Words after which (or after which and an adjective) a word is used as a noun: a keyword must be."""

LANGUAGE_NAMES = {
    "nl": "Nederlands", "en": "Engels", "de": "Duits", "fr": "Frans", "es": "Spaans", "af": "Afrikaans",
    "it": "Italiaans", "pt": "Portugees", "da": "Deens", "sv": "Zweeds", "no": "Noors", "fi": "Fins",
    "pl": "Pools", "cs": "Tsjechisch", "hu": "Hongaars", "ro": "Roemeens", "el": "Grieks", "bg": "Bulgaars",
    "uk": "Oekraïens", "ru": "Russisch", "tr": "Turks", "ar": "Arabisch", "he": "Hebreeuws", "fa": "Perzisch",
    "hi": "Hindi", "ur": "Urdu", "zh": "Chinees", "ja": "Japans", "ko": "Koreaans", "id": "Indonesisch",
    "so": "Somalisch", "lb": "Luxemburgs", "cy": "Welsh", "ca": "Catalaans", "eu": "Baskisch",
}  # fmt: skip
"""Names in Dutch of the languages a transcript may be in (ISO 639 codes, as Whisper gives them), for the
page's labels: the site speaks Dutch whatever language the session is in."""


def language_name(code: str) -> str:
    """The Dutch name of a language code (`en` → "Engels", `en-GB` too); an unknown code as it is."""
    return LANGUAGE_NAMES.get(code.split("-")[0].lower(), code)

"""A hand-written Dutch panel conversation, as a transcript with word timings, for summary and review tests.

Three parts on distinct topics (energy cooperative, housing cooperative, the city council), spoken by
a moderator and two panellists, with the fillers, repeats and false starts of real speech.
"""

from __future__ import annotations

from livecastpipe.models import Chapter, Segment, SpeakerInfo, Transcript, Word

WORD_SECONDS = 0.4

PANEL: list[tuple[str, str]] = [
    (
        "SPEAKER_00",
        "Goedemiddag allemaal en welkom bij deze sessie over coöperaties in de stad. "
        "Ik ben Anne de Vries en ik leid vandaag het gesprek. "
        "Naast mij zitten Pieter Bakker van de energiecoöperatie en Fatima El Amrani van de wooncoöperatie.",
    ),
    (
        "SPEAKER_01",
        "Dank je wel Anne. Eh, onze energiecoöperatie is tien jaar geleden begonnen met twaalf buren. "
        "We hebben toen zonnepanelen gelegd op het dak van de oude sporthal in de wijk. "
        "Inmiddels telt de energiecoöperatie meer dan achthonderd leden die samen eigenaar zijn van de zonnepanelen. "
        "De opbrengst van de zonnepanelen gaat terug naar de leden en naar een buurtfonds. "
        "Uhm, het buurtfonds betaalt bijvoorbeeld de isolatie van woningen van mensen met een kleine beurs. "
        "Wat ik belangrijk vind is dat de leden zelf beslissen in de ledenvergadering. "
        "Ja. "
        "Dat is, dat is echt het hart van een coöperatie: één lid, één stem.",
    ),
    ("SPEAKER_00", "Hoe zorgen jullie ervoor dat nieuwe buren ook mee gaan doen met de energiecoöperatie?"),
    (
        "SPEAKER_01",
        "We gaan de de deuren langs en we organiseren energiecafés in het buurthuis. "
        "Mensen komen vaak eerst voor een kop koffie en gaan naar huis met een plan om hun huis te verduurzamen. "
        "Het lastige is dat de netbeheerder ons soms maanden laat wachten op een aansluiting voor nieuwe zonnepanelen.",
    ),
    ("SPEAKER_00", "Fatima, jullie wooncoöperatie pakt een heel ander probleem aan, namelijk betaalbaar wonen."),
    (
        "SPEAKER_02",
        "Klopt. De wooncoöperatie heeft een leegstaand kantoorgebouw gekocht en verbouwd tot vierenveertig "
        "betaalbare huurwoningen. "
        "De bewoners zijn samen eigenaar van het gebouw en bepalen zelf de huurprijs in de ledenvergadering. "
        "Omdat er geen winst naar beleggers gaat, blijft de huur van de woningen ook op de lange termijn betaalbaar. "
        "De financiering van de wooncoöperatie was het moei- het moeilijkste deel van het hele project. "
        "Banken vonden een wooncoöperatie te riskant, dus hebben we een lening van de gemeente en obligaties van "
        "buurtbewoners gecombineerd. "
        "Eh, uiteindelijk hebben driehonderd buurtbewoners obligaties gekocht om de woningen mogelijk te maken. "
        "De bewoners onderhouden de tuin en de gemeenschappelijke ruimtes van het gebouw zelf.",
    ),
    ("SPEAKER_00", "Wat vraagt dit van de gemeente, als ik jullie allebei zo hoor?"),
    (
        "SPEAKER_02",
        "De gemeente kan coöperaties helpen door grond en leegstaande gebouwen eerst aan coöperaties aan te "
        "bieden. "
        "Een garantstelling van de gemeente maakt het voor banken veel makkelijker om een coöperatie geld te lenen.",
    ),
    (
        "SPEAKER_01",
        "En de gemeente kan daken van scholen en sporthallen beschikbaar stellen voor zonnepanelen van "
        "een energiecoöperatie. "
        "Ambtenaren moeten coöperaties zien als partners en niet als lastige aanvragers van een vergunning.",
    ),
    ("SPEAKER_00", "Dank jullie wel allebei, dan gaan we nu naar de vragen uit de zaal."),
]

SPEAKERS = (
    SpeakerInfo(id="SPEAKER_00", name="Anne de Vries", role="moderator", confidence=0.9, name_source="introduction"),
    SpeakerInfo(id="SPEAKER_01", name="Pieter Bakker", confidence=0.8, name_source="introduction"),
    SpeakerInfo(id="SPEAKER_02", name="Fatima El Amrani", confidence=0.8, name_source="introduction"),
)
SPEAKER_NAMES = {s.id: s.name or s.id for s in SPEAKERS}


def panel_transcript(panel: list[tuple[str, str]] | None = None) -> Transcript:
    """The panel as a transcript: one segment per turn, each word `WORD_SECONDS` long, speakers attributed."""
    segments: list[Segment] = []
    clock = 0.0
    for speaker, text in panel or PANEL:
        words = []
        for token in text.split():
            words.append(
                Word(start=clock, end=clock + WORD_SECONDS, text=" " + token, probability=0.9, speaker=speaker)
            )
            clock += WORD_SECONDS
        segments.append(
            Segment(start=words[0].start, end=words[-1].end, text=" " + text, words=tuple(words), speaker=speaker)
        )
        clock += 1.0
    return Transcript(
        language="nl", language_probability=1.0, duration=clock, segments=tuple(segments), model="hand-written"
    )


def panel_chapters(transcript: Transcript) -> list[Chapter]:
    """Chapters as the chapters stage would make them: energy (turns 1–4), housing (5–6), the council (7–10)."""
    starts = [transcript.segments[i].start for i in (0, 4, 6)]
    ends = [*starts[1:], transcript.duration]
    titles = ["Pieter Bakker: energiecoöperatie", "Fatima El Amrani: wooncoöperatie", "De rol van de gemeente"]
    speakers = ["SPEAKER_01", "SPEAKER_02", None]
    return [Chapter(start=a, end=b, title=t, speaker=s) for a, b, t, s in zip(starts, ends, titles, speakers)]

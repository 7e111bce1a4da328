"""Dutch by default, English by choice: a small catalogue, keyed by the Dutch text.

The pages are written in Dutch; `_("...")` answers the English of a text when the person chose
English. A test checks that every text the templates and pages use has its English here.
"""
from __future__ import annotations

from flask import g, request, session

LANGUAGES = ("nl", "en")


def language() -> str:
    chosen = g.get("language")
    if chosen:
        return chosen
    chosen = session.get("language") if _has_session() else None
    if chosen not in LANGUAGES:
        chosen = "nl"
    g.language = chosen
    return chosen


def _has_session() -> bool:
    try:
        return request is not None and session is not None
    except RuntimeError:
        return False


def gettext(text: str, **values) -> str:
    from web.catalogue import EN
    if language() == "en":
        text = EN.get(text, text)
    return text.format(**values) if values else text


_ = gettext

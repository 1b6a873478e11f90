"""The language introaws speaks: English in the source, Japanese from a gettext catalog.

Messages are written in English and wrapped where they are made: ``_()`` translates at call
time, ``N_()`` only marks a string evaluated at import (a Typer help text, a group's help line)
so that Babel extracts it and the CLI translates it when help is shown. The catalog is
``locale/ja/LC_MESSAGES/introaws.po``, compiled to the ``.mo`` beside it (docs/translating.md).

The language is decided for each run of the CLI from that run's environment (``speaking``
around ``cli.app.main``), never at import: the tests run the CLI in one process under
different locales. It is one process-wide setting rather than a context variable because
workflows report progress from worker threads, which do not inherit a context.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "introaws"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH, JAPANESE = "en", "ja"
# The variables that name the user's language, in the order gettext and POSIX read them.
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_current: gettext.NullTranslations = gettext.NullTranslations()


def language(variables: Mapping[str, str]) -> str:
    """``INTROAWS_LANG`` (ja or en) wins; else the first locale variable that is set decides:
    one starting with ``ja`` means Japanese, anything else (``C.UTF-8`` too) English."""
    chosen = variables.get("INTROAWS_LANG", "").strip().lower()
    if chosen in (ENGLISH, JAPANESE):
        return chosen
    for name in _LOCALE_VARIABLES:
        if variables.get(name):
            return JAPANESE if variables[name].lower().startswith("ja") else ENGLISH
    return ENGLISH


@functools.cache
def _catalog(lang: str) -> gettext.NullTranslations:
    if lang == ENGLISH:  # the source's own language: no catalog to read
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Translate into ``lang`` until the block ends, then speak as before."""
    global _current
    previous, _current = _current, _catalog(lang)
    try:
        yield
    finally:
        _current = previous


def _(message: str) -> str:
    """``message`` in the language of this run."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Marks ``message`` for extraction only; it is translated with ``_()`` where it is shown."""
    return message

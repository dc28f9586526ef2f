"""What a display says when it calls a ticket: pure functions, one per form.

Three forms of the same call:

- :func:`call_text`: what the board shows and the log records
  (``请 A023 号到 3 号窗口`` / ``Ticket A023, please go to counter 3`` / ``請 A023 號到 3 號櫃檯``);
- :func:`spoken_text`: what a speech engine is fed, with the ticket's digits read one by one
  (``请A零二三号到三号窗口``, ``Ticket A 0 2 3, please go to counter 3``), because a voice
  reads ``A023`` as "A twenty-three";
- :func:`pinyin_text`: the Chinese forms as numbered-tone pinyin for espeak-ng's
  ``cmn-latn-pinyin`` voice (``qing3 ei1 ling2 er4 san1 hao4 dao4 san1 hao4 chuang1 kou3``).

The templates are the same as ``announce.call`` in ``server/static/common/i18n.js``, which
the browser uses for its own speech; a unit test keeps the two in step.

In a burst of calls a board says every call after the first in a short form
(:data:`SHORT_TEMPLATES`: ``A024 号，5 号窗口`` / ``A024, counter 5``), kept in step with
``SHORT_CALL`` in ``display/static/announcer.js`` by a unit test likewise; ``form="short"``
gives it in each function.
"""

from __future__ import annotations

import re

LANGUAGES = ("zh-CN", "en", "zh-TW")

CALL_TEMPLATES = {
    "zh-CN": "请 {number} 号到 {counter} 号窗口",
    "en": "Ticket {number}, please go to counter {counter}",
    "zh-TW": "請 {number} 號到 {counter} 號櫃檯",
}

SHORT_TEMPLATES = {
    "zh-CN": "{number} 号，{counter} 号窗口",
    "en": "{number}, counter {counter}",
    "zh-TW": "{number} 號，{counter} 號櫃檯",
}

FORMS = {"full": CALL_TEMPLATES, "short": SHORT_TEMPLATES}

#: A ticket number: its series letter and the day's sequence (``A001``, past 999 ``A1000``).
NUMBER = re.compile(r"([A-Z])([0-9]{3,6})")
MAX_COUNTER = 9999

DIGITS_HANZI = "零一二三四五六七八九"

#: English letter names as Mandarin speakers say them, in pinyin espeak-ng can read.
LETTER_PINYIN = {
    "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2 fu5",
    "G": "ji4", "H": "ai2 qi1", "I": "ai4", "J": "jie4", "K": "kai4", "L": "ai2 lu5",
    "M": "ai2 mu5", "N": "en1", "O": "ou1", "P": "pi4", "Q": "ke4 you1", "R": "a4 er5",
    "S": "ai2 si5", "T": "ti4", "U": "you1", "V": "wei4", "W": "da2 bu5 liu5",
    "X": "ai2 ke4 si5", "Y": "wai4", "Z": "zei4",
}


class PhraseError(ValueError):
    """A number, counter or language that no announcement can be made for."""


def check(number: str, counter: int, lang: str) -> None:
    """Raise :class:`PhraseError` unless ``number``, ``counter`` and ``lang`` are announceable."""
    if lang not in CALL_TEMPLATES:
        raise PhraseError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if not isinstance(number, str) or NUMBER.fullmatch(number) is None:
        raise PhraseError(f"{number!r} is not a ticket number (a letter and 3–6 digits)")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter <= MAX_COUNTER:
        raise PhraseError(f"{counter!r} is not a counter number (1–{MAX_COUNTER})")


def _templates(form: str) -> dict[str, str]:
    if form not in FORMS:
        raise PhraseError(f"form must be one of {', '.join(FORMS)}, not {form!r}")
    return FORMS[form]


def call_text(number: str, counter: int, lang: str, form: str = "full") -> str:
    """The call as the board shows it: ``请 A023 号到 3 号窗口`` (short: ``A023 号，3 号窗口``)."""
    check(number, counter, lang)
    return _templates(form)[lang].format(number=number, counter=counter)


def spoken_text(number: str, counter: int, lang: str, form: str = "full") -> str:
    """The call for a speech engine: the ticket's digits one by one, the counter as a number."""
    check(number, counter, lang)
    templates = _templates(form)
    match = NUMBER.fullmatch(number)
    assert match is not None  # check() has matched it
    letter, digits = match.groups()
    if lang == "en":
        return templates["en"].format(number=" ".join([letter, *digits]), counter=counter)
    spelled = letter + "".join(DIGITS_HANZI[int(d)] for d in digits)
    return templates[lang].format(number=spelled, counter=hanzi_cardinal(counter)).replace(" ", "")


def pinyin_text(number: str, counter: int, lang: str = "zh-CN") -> str:
    """The Chinese call as numbered-tone pinyin for ``espeak-ng -v cmn-latn-pinyin``.

    Raises:
        PhraseError: ``lang`` is not a Chinese language, or the call is not announceable.
        ImportError: pypinyin is not installed.
    """
    if lang == "en":
        raise PhraseError("pinyin is for the Chinese languages only")
    from pypinyin import Style, lazy_pinyin  # imported here: the board works without it

    syllables = lazy_pinyin(
        spoken_text(number, counter, lang), style=Style.TONE3, neutral_tone_with_five=True
    )
    return " ".join(LETTER_PINYIN.get(s, s) for s in syllables)


def hanzi_cardinal(n: int) -> str:
    """A counter number read as Mandarin reads it: 3 → 三, 10 → 十, 21 → 二十一, 105 → 一百零五."""
    if not 0 <= n <= MAX_COUNTER:
        raise PhraseError(f"{n} is out of range for a counter number")
    if n < 10:
        return DIGITS_HANZI[n]
    if n < 20:
        return "十" + (DIGITS_HANZI[n - 10] if n > 10 else "")
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero and out:
                out += "零"
            out += DIGITS_HANZI[digit] + unit
            zero = False
        else:
            zero = True
    return out

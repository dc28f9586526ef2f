"""What the displays say: the call in three languages, spoken forms, pinyin for espeak-ng."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from display import phrases
from display.phrases import (
    PhraseError,
    call_text,
    hanzi_cardinal,
    pinyin_text,
    spoken_text,
)
from server.tts import TtsError, fix_wav_header
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pypinyin():
    """Skipped without pypinyin locally; required under CI=true."""
    try:
        import pypinyin
    except ImportError:
        if IN_CI:
            pytest.fail("pypinyin is required under CI: add it to pyproject's dependencies")
        pytest.skip("pypinyin is not installed")
    return pypinyin


@pytest.mark.parametrize(
    "number,counter,lang,text",
    [
        ("A023", 3, "zh-CN", "请 A023 号到 3 号窗口"),
        ("A023", 3, "en", "Ticket A023, please go to counter 3"),
        ("A023", 3, "zh-TW", "請 A023 號到 3 號櫃檯"),
        ("G001", 12, "zh-CN", "请 G001 号到 12 号窗口"),
        ("B1000", 1, "en", "Ticket B1000, please go to counter 1"),
    ],
)
def test_the_board_shows_the_call_in_the_branch_language(number, counter, lang, text):
    assert call_text(number, counter, lang) == text


@pytest.mark.parametrize(
    "number,counter,lang,text",
    [
        ("A023", 3, "zh-CN", "请A零二三号到三号窗口"),
        ("A023", 3, "zh-TW", "請A零二三號到三號櫃檯"),
        ("A023", 3, "en", "Ticket A 0 2 3, please go to counter 3"),
        ("C100", 21, "zh-CN", "请C一零零号到二十一号窗口"),
        ("D007", 10, "en", "Ticket D 0 0 7, please go to counter 10"),
    ],
)
def test_a_voice_reads_the_ticket_digit_by_digit_and_the_counter_as_a_number(number, counter, lang, text):
    assert spoken_text(number, counter, lang) == text


@pytest.mark.parametrize(
    "number,counter,lang,pinyin",
    [
        ("A023", 3, "zh-CN", "qing3 ei1 ling2 er4 san1 hao4 dao4 san1 hao4 chuang1 kou3"),
        ("A023", 3, "zh-TW", "qing3 ei1 ling2 er4 san1 hao4 dao4 san1 hao4 gui4 tai2"),
        ("B105", 12, "zh-CN", "qing3 bi4 yi1 ling2 wu3 hao4 dao4 shi2 er4 hao4 chuang1 kou3"),
        ("G001", 2, "zh-CN", "qing3 ji4 ling2 ling2 yi1 hao4 dao4 er4 hao4 chuang1 kou3"),
    ],
)
def test_espeak_gets_numbered_tone_pinyin(pypinyin, number, counter, lang, pinyin):
    assert pinyin_text(number, counter, lang) == pinyin


def test_every_pinyin_syllable_has_a_tone_number(pypinyin):
    for letter in phrases.LETTER_PINYIN:
        text = pinyin_text(f"{letter}123", 45, "zh-CN")
        assert all(re.fullmatch(r"[a-z]+[1-5]", s) for s in text.split()), text


@pytest.mark.parametrize(
    "n,hanzi",
    [(1, "一"), (2, "二"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"), (21, "二十一"),
     (99, "九十九"), (100, "一百"), (105, "一百零五"), (110, "一百一十"), (1001, "一千零一"),
     (1234, "一千二百三十四")],
)
def test_counter_numbers_are_read_as_mandarin_cardinals(n, hanzi):
    assert hanzi_cardinal(n) == hanzi


@pytest.mark.parametrize(
    "number,counter,lang",
    [("A23", 3, "zh-CN"), ("a023", 3, "zh-CN"), ("AB023", 3, "en"), ("A023", 0, "en"),
     ("A023", 10000, "en"), ("A023", 3, "fr"), ("A023", True, "en"), ("", 3, "en"),
     ("A023\n", 3, "en")],
)
def test_a_call_that_cannot_be_announced_is_refused_clearly(number, counter, lang):
    with pytest.raises(PhraseError):
        call_text(number, counter, lang)


def test_pinyin_is_only_for_the_chinese_languages():
    with pytest.raises(PhraseError):
        pinyin_text("A023", 3, "en")


def test_the_browser_table_has_the_same_call_templates_as_the_server():
    source = (ROOT / "server/static/common/i18n.js").read_text(encoding="utf-8")
    blocks = re.split(r"^  (?:'([a-zA-Z-]+)'|(\w+)): \{$", source, flags=re.MULTILINE)
    found = {}
    for i in range(1, len(blocks) - 2, 3):
        lang = blocks[i] or blocks[i + 1]
        call = re.search(r"'announce\.call': '([^']*)'", blocks[i + 2])
        found[lang] = call.group(1) if call else None
    assert found == phrases.CALL_TEMPLATES
    assert list(found) == ["zh-CN", "en", "zh-TW"]  # zh-CN first


@pytest.mark.parametrize(
    "number,counter,lang,shown,spoken",
    [
        ("A024", 5, "zh-CN", "A024 号，5 号窗口", "A零二四号，五号窗口"),
        ("A024", 5, "en", "A024, counter 5", "A 0 2 4, counter 5"),
        ("A024", 12, "zh-TW", "A024 號，12 號櫃檯", "A零二四號，十二號櫃檯"),
    ],
)
def test_after_the_first_call_of_a_burst_the_short_form_is_said(number, counter, lang, shown, spoken):
    assert call_text(number, counter, lang, "short") == shown
    assert spoken_text(number, counter, lang, "short") == spoken
    with pytest.raises(PhraseError):
        call_text(number, counter, lang, "shouted")


def test_the_board_announcer_has_the_same_short_forms_as_the_server():
    source = (ROOT / "display/static/announcer.js").read_text(encoding="utf-8")
    table = re.search(r"export const SHORT_CALL = \{(.*?)\};", source, flags=re.DOTALL)
    assert table is not None
    found = dict(re.findall(r"^\s+'?([a-zA-Z-]+)'?: '([^']*)',$", table.group(1), flags=re.MULTILINE))
    assert found == phrases.SHORT_TEMPLATES


def test_espeak_streaming_header_gets_its_real_sizes():
    pcm = b"\x01\x00" * 100
    header = (b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
              + struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 16) + b"data" + struct.pack("<I", 0x7FFFFFFF))
    fixed = fix_wav_header(header + pcm)
    assert struct.unpack_from("<I", fixed, 4)[0] == len(fixed) - 8
    assert struct.unpack_from("<I", fixed, 40)[0] == len(pcm)
    with pytest.raises(TtsError):
        fix_wav_header(b"not a wav file at all")

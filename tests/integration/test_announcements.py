"""Server-made announcement audio, and the display pages being served."""

from __future__ import annotations

import asyncio
import io
import shutil
import wave

import pytest

import server.tts
from tests.conftest import IN_CI

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
WAV = "/api/v1/branches/demo/announcements/{number}/{counter}.wav"


@pytest.fixture
def espeak() -> None:
    """espeak-ng and pypinyin: skipped without them locally, required under CI=true."""
    missing = []
    if shutil.which("espeak-ng") is None:
        missing.append("espeak-ng (apt-get install espeak-ng)")
    try:
        import pypinyin  # noqa: F401
    except ImportError:
        missing.append("pypinyin (pip install pypinyin)")
    if missing:
        if IN_CI:
            pytest.fail(f"missing under CI: {', '.join(missing)}")
        pytest.skip(f"missing: {', '.join(missing)}")


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getnframes() / w.getframerate()


@pytest.mark.parametrize("lang", ["zh-CN", "en", "zh-TW"])
async def test_the_call_is_spoken_as_a_valid_wav_in_each_language(demo, espeak, lang):
    resp = await demo.client.get(WAV.format(number="A023", counter=3), params={"lang": lang})
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "audio/wav"
    data = await resp.read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert int.from_bytes(data[4:8], "little") == len(data) - 8  # sizes are real, not streaming
    assert 0.5 < wav_seconds(data) < 15


async def test_requests_for_the_same_call_share_one_recording(demo, espeak):
    url = WAV.format(number="B007", counter=2)
    answers = await asyncio.gather(*(demo.client.get(url, params={"lang": "en"}) for _ in range(4)))
    bodies = [await r.read() for r in answers]
    assert all(r.status == 200 for r in answers)
    assert len(set(bodies)) == 1


async def test_without_espeak_ng_the_server_says_so_with_503_no_tts(demo, monkeypatch):
    monkeypatch.setattr(server.tts, "ESPEAK_NG", "/nonexistent/espeak-ng")
    resp = await demo.client.get(WAV.format(number="A023", counter=3), params={"lang": "zh-CN"})
    assert resp.status == 503
    error = (await resp.json())["error"]
    assert error["code"] == "no_tts"
    assert "espeak-ng" in error["message"]


@pytest.mark.parametrize(
    "path,lang,status,code",
    [
        ("/api/v1/branches/nowhere/announcements/A023/3.wav", "zh-CN", 404, "not_found"),
        (WAV.format(number="A023", counter=99), "zh-CN", 404, "not_found"),
        (WAV.format(number="A23", counter=3), "zh-CN", 400, "invalid_input"),
        (WAV.format(number="Z023", counter=3), "zh-CN", 400, "invalid_input"),  # no series Z here
        (WAV.format(number="A023", counter="x"), "zh-CN", 400, "invalid_input"),
        (WAV.format(number="A023", counter=3), "fr", 400, "invalid_input"),
    ],
)
async def test_a_bad_announcement_request_gets_a_clear_json_error(demo, path, lang, status, code):
    resp = await demo.client.get(path, params={"lang": lang})
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


@pytest.mark.parametrize(
    "path,kind",
    [
        ("/display/demo", "text/html"),
        ("/display/demo/counter/3", "text/html"),
        ("/static/display/board.js", "application/javascript"),
        ("/static/display/announcer.js", "application/javascript"),
        ("/static/display/board.css", "text/css"),
        ("/static/common/live.js", "application/javascript"),
        ("/static/common/i18n.js", "application/javascript"),
        ("/static/common/device.js", "application/javascript"),
    ],
)
async def test_the_display_pages_and_their_modules_are_served(demo, path, kind):
    resp = await demo.client.get(path)
    assert resp.status == 200
    assert resp.content_type in (kind, "text/javascript")

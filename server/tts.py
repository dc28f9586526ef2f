"""Server-made announcement audio: espeak-ng to WAV bytes, for displays without a voice.

Mandarin (zh-CN and zh-TW) is spoken by ``espeak-ng -v cmn-latn-pinyin`` from the
numbered-tone pinyin of :func:`display.phrases.pinyin_text`; English by ``-v en``.
espeak-ng runs as a subprocess (``asyncio.create_subprocess_exec``), never on the event
loop's thread, at most :data:`MAX_PARALLEL` at a time; results are kept in a small
in-memory LRU (bounded in bytes), and concurrent requests for the same call share one run.

    TtsError            espeak-ng ran but gave no usable audio        code tts_failed
    └── TtsUnavailable  espeak-ng (or pypinyin) is not installed      code no_tts
"""

from __future__ import annotations

import asyncio
import shutil
import struct
from collections import OrderedDict

from display import phrases
from server.domain.errors import BranchqError

#: The espeak-ng executable: a name looked up on PATH, or a path (tests point it elsewhere).
ESPEAK_NG = "espeak-ng"
VOICES = {"zh-CN": "cmn-latn-pinyin", "zh-TW": "cmn-latn-pinyin", "en": "en"}
#: Words per minute: a little slower than espeak's 175, for a noisy hall.
SPEED = {"zh-CN": "150", "zh-TW": "150", "en": "150"}
MAX_PARALLEL = 2
RUN_TIMEOUT_S = 15.0
CACHE_BYTES = 32 * 1024 * 1024


class TtsError(BranchqError):
    """espeak-ng ran but produced no usable audio."""

    code = "tts_failed"


class TtsUnavailable(TtsError):
    """No speech engine on this server: espeak-ng (or pypinyin) is not installed."""

    code = "no_tts"


class Speaker:
    """Makes and caches announcement WAVs.

    Args:
        executable: espeak-ng's name or path; None reads :data:`ESPEAK_NG` at each call.
        cache_bytes: the most WAV bytes kept in memory.
    """

    def __init__(self, *, executable: str | None = None, cache_bytes: int = CACHE_BYTES) -> None:
        self._executable = executable
        self._cache: OrderedDict[tuple[str, int, str], bytes] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._size = 0
        self._running: dict[tuple[str, int, str], asyncio.Future[bytes]] = {}
        self._slots = asyncio.Semaphore(MAX_PARALLEL)

    def executable(self) -> str:
        """The full path of espeak-ng. Raises TtsUnavailable when it is not installed."""
        name = self._executable or ESPEAK_NG
        found = shutil.which(name)
        if found is None:
            raise TtsUnavailable(
                f"no speech engine on the server: {name!r} not found; install the Debian package "
                "espeak-ng (the board still shows calls and plays its chime)"
            )
        return found

    async def wav(self, number: str, counter: int, lang: str) -> bytes:
        """The call ``number`` → ``counter`` spoken in ``lang``, as a complete WAV file.

        Raises:
            phrases.PhraseError: not an announceable call or language.
            TtsUnavailable: espeak-ng or pypinyin is missing.
            TtsError: espeak-ng failed or timed out.
        """
        phrases.check(number, counter, lang)
        key = (number, counter, lang)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        task = self._running.get(key)
        if task is None:
            # A task of its own: a client that goes away must not cancel the others' audio.
            task = asyncio.ensure_future(self._make(number, counter, lang))
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: tuple[str, int, str], task: asyncio.Future[bytes]) -> None:
        del self._running[key]
        if not task.cancelled() and task.exception() is None:
            self._remember(key, task.result())

    async def _make(self, number: str, counter: int, lang: str) -> bytes:
        executable = self.executable()
        if lang == "en":
            text = phrases.spoken_text(number, counter, lang)
        else:
            try:
                text = phrases.pinyin_text(number, counter, lang)
            except ImportError:
                raise TtsUnavailable(
                    "pypinyin is not installed on the server, so it cannot speak Chinese"
                ) from None
        argv = [executable, "-v", VOICES[lang], "-s", SPEED[lang], "--stdout", text]
        async with self._slots:
            return fix_wav_header(await _run(argv))

    def _remember(self, key: tuple[str, int, str], data: bytes) -> None:
        if len(data) > self._cache_bytes:
            return
        self._cache[key] = data
        self._size += len(data)
        while self._size > self._cache_bytes:
            _, old = self._cache.popitem(last=False)
            self._size -= len(old)


async def _run(argv: list[str]) -> bytes:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:  # removed between which() and exec
        raise TtsUnavailable(f"no speech engine on the server: {argv[0]!r} not found") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise TtsError(f"espeak-ng took longer than {RUN_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip()[:200]
        raise TtsError(f"espeak-ng failed (exit {proc.returncode}): {message}")
    return out


def fix_wav_header(data: bytes) -> bytes:
    """Set the RIFF and data sizes, which ``espeak-ng --stdout`` leaves at 0x7fffffff.

    Raises:
        TtsError: ``data`` is not a RIFF/WAVE file with a data chunk.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TtsError("espeak-ng did not produce a WAV file")
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        if chunk == b"data":
            pcm = len(data) - offset - 8
            pcm -= pcm % 2  # whole 16-bit samples
            out = bytearray(data[: offset + 8 + pcm])
            struct.pack_into("<I", out, 4, len(out) - 8)
            struct.pack_into("<I", out, offset + 4, pcm)
            return bytes(out)
        offset += 8 + size + (size & 1)
    raise TtsError("espeak-ng produced a WAV file without audio")

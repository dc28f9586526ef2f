"""The waiting-area displays: their two pages, and server-made announcement audio.

``GET /display/{branch}``                 the board (device token once as ``?token=…``)
``GET /display/{branch}/counter/{n}``     the counter-top screen of counter n
``GET /api/v1/branches/{branch}/announcements/{number}/{counter}.wav?lang=zh-CN|en|zh-TW``
                                          the call spoken by espeak-ng, for a display whose
                                          browser has no voice for the language

The audio is public like the board's own text (a number and a counter, no customer data),
because an ``<audio>`` element cannot send a device token; what it may cost is bounded: the
number's series must be one of the branch's (or the green series), the counter must exist,
and :class:`server.tts.Speaker` caches and runs at most two espeak-ng at a time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, StringConstraints

from display import phrases
from server.domain.access import Action, Actor
from server.domain.errors import InvalidInput
from server.services import queries
from server.tts import Speaker, TtsError

from .api import BRANCH, DIGITS, SERVICES, Params, RouteTable, params
from .errors import error_response
from .pages import page

SPEAKER = web.AppKey("speaker", Speaker)
AUDIO_MAX_AGE_S = 24 * 3600


routes = RouteTable()
WAV = "audio/wav"


def setup_display(app: web.Application) -> None:
    app[SPEAKER] = Speaker()
    app.router.add_get(f"/display/{BRANCH}", page("display", "board.html"))
    app.router.add_get(f"/display/{BRANCH}/counter/{{number:[0-9]{{1,4}}}}", page("display", "counter.html"))


class Call(Params):
    """The call to speak: what :func:`display.phrases.check` accepts (a refusal is 400)."""

    number: Annotated[str, StringConstraints(pattern=f"^{phrases.NUMBER.pattern}$")]
    counter: Annotated[int, Field(ge=1, le=phrases.MAX_COUNTER), DIGITS]


class CallLanguage(Params):
    lang: Literal[phrases.LANGUAGES] = "zh-CN"  # type: ignore[valid-type]  # the tuple of display.phrases


@routes.http(
    "GET", f"/branches/{BRANCH}/announcements/{{number}}/{{counter}}.wav",
    summary="The call spoken by espeak-ng (WAV), for a board without a voice; 503 no speech engine",
    action=Action.BRANCH_PUBLIC, limit="public", params=Call, query=CallLanguage, content_type=WAV, errors=(503,),
)
async def announcement_audio(request: web.Request, _actor: Actor, _body: None) -> web.Response:
    """The call as a WAV file: 404 unknown branch/counter, 400 bad input, 503 no speech engine."""
    branch_id = request.match_info["branch"]
    call, lang = params(request, Call), params(request, CallLanguage).lang
    number, counter = call.number, call.counter
    try:
        phrases.check(number, counter, lang)
    except phrases.PhraseError as e:
        raise InvalidInput(str(e)) from None
    await queries.check_call(request.app[SERVICES], branch_id, number, counter)
    try:
        wav = await request.app[SPEAKER].wav(number, counter, lang)
    except TtsError as e:  # TtsUnavailable (code no_tts) included: the board falls back to its chime
        return error_response(503, e.code, e.message)
    return web.Response(
        body=wav,
        content_type=WAV,
        headers={"Cache-Control": f"public, max-age={AUDIO_MAX_AGE_S}"},
    )

"""The teller's terminal: ``branchq counter --server URL --branch B --counter N --user U``.

(``branchq-counter`` takes the same options, on a counter PC with only ``branchq[counter]``.)

It signs in over HTTP (the password from ``getpass``, or from ``BRANCHQ_PASSWORD`` on an
unattended keypad box), connects to ``/ws`` with the session cookie as a ``counter`` client,
and shows one plain screen, redrawn after every change: the counter, its current ticket with
its timers, how many wait for this counter, the last result or error, and the keys::

    o open   p pause   c close   n / Space / Enter call next   r recall   s start
    f finish   x no-show   t transfer   q quit (Ctrl-C too)

Commands go over the websocket; the screen's figures (counter view, this counter's queue)
are read over HTTP whenever an event may have changed them. Keys typed while a command is
on its way are dropped, so a bouncing key never calls (and so finishes) two customers.
The terminal is put in raw mode (POSIX ``termios``, standard library only) and always
restored on the way out. Errors are shown as the server words them, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import getpass
import logging
import os
import re
import shutil
import signal
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import aiohttp
from pydantic import ValidationError

from server.client import BranchClient, CommandError, Refused, backoff
from server.protocol import (
    CounterResult,
    EventMessage,
    QueueAnswer,
    Snapshot,
    TicketAnswer,
    events,
)

log = logging.getLogger(__name__)

PASSWORD_ENV = "BRANCHQ_PASSWORD"
SESSION_COOKIE = "branchq_session"
CONNECT_TIMEOUT_S = 15.0
COMMAND_TIMEOUT_S = 10.0
JUST_CALLED_S = 2.0
"""A call-next this soon after this screen's own call, not yet started, is the key pressed twice."""
MAX_TYPED = 200  # the server's limit for a pause reason

# --- words -------------------------------------------------------------------------------

LANGUAGES = ("zh-CN", "en", "zh-TW")
DEFAULT_LANGUAGE = "zh-CN"

#: Every word on the screen, zh-CN first (the default), as in server/static/common/i18n.js.
#: Messages from the server (refusals) come in the server's own words.
WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "counter": "{n} 号窗口",
        "state.open": "服务中", "state.paused": "暂停", "state.closed": "已关闭",
        "paused_for": "暂停（{reason}）",
        "teller": "柜员 {name}", "no_teller": "无柜员", "you": "已登录：{name}",
        "online": "在线", "offline": "连接中断，正在重新连接…",
        "no_ticket": "当前没有客户",
        "ticket.called": "已叫号", "ticket.serving": "办理中",
        "green": "绿色通道", "green.elderly": "老年人", "green.disabled": "残障人士",
        "green.pregnant": "孕妇", "green.urgent": "紧急业务",
        "waited": "已等候 {t}", "since_call": "叫号后 {t}", "service_time": "办理 {t}",
        "recalls": "重呼 {n} 次", "transfers": "转入 {n} 次",
        "waiting": "本窗口等候：{count} 人", "next": "下一位 {number}",
        "today": "今日已办 {served} 笔，平均 {average}",
        "legend.1": "n/空格/回车 叫下一位   r 重呼   s 开始办理   f 办结   x 过号   t 转移",
        "legend.2": "o 开窗   p 暂停   c 关窗   q 退出",
        "ask.reason": "暂停原因（回车：不填，Esc：取消）：",
        "ask.target": "转移到——业务字母或窗口号（Esc：取消）：",
        "ask.position": "排队位置——f 队首，l 队尾，o 原取号时间（回车：队尾）：",
        "done.open": "{n} 号窗口已开始服务", "done.pause": "{n} 号窗口已暂停",
        "done.close": "{n} 号窗口已关闭", "done.call_next": "已叫 {number}（{service}）",
        "done.nobody": "{n} 号窗口没有人在等候", "done.recall": "再次呼叫 {number}",
        "done.start": "开始办理 {number}", "done.finish": "{number} 已办结",
        "done.no_show": "{number} 过号", "done.transfer": "{number} 已转到 {target}",
        "to_service": "{code} 类业务", "to_counter": "{n} 号窗口",
        "cancelled": "已取消", "unknown_key": "“{key}” 键没有功能，请看下方按键说明",
        "bad_target": "请输入业务字母（如 B）或窗口号（如 4）",
        "not_connected": "未连接到服务器，请稍后再试",
        "just_called": "刚刚叫号：{number}（再按一次即办结并叫下一位）",
        "no_answer": "服务器未及时应答，请确认屏幕后再操作",
        "refresh_failed": "无法刷新：{message}",
        "signing_in": "会话已失效，正在重新登录…",
        "session_over": "会话已失效：请按 q 退出后重新登录",
    },
    "en": {
        "counter": "counter {n}",
        "state.open": "OPEN", "state.paused": "PAUSED", "state.closed": "CLOSED",
        "paused_for": "PAUSED ({reason})",
        "teller": "teller {name}", "no_teller": "no teller", "you": "signed in as {name}",
        "online": "online", "offline": "connection lost, reconnecting…",
        "no_ticket": "no customer at the counter",
        "ticket.called": "called", "ticket.serving": "serving",
        "green": "green channel", "green.elderly": "elderly", "green.disabled": "disabled",
        "green.pregnant": "pregnant", "green.urgent": "urgent",
        "waited": "waited {t}", "since_call": "called {t} ago", "service_time": "service {t}",
        "recalls": "recalled {n}×", "transfers": "transferred {n}×",
        "waiting": "waiting for this counter: {count}", "next": "next {number}",
        "today": "today: {served} served, average {average}",
        "legend.1": "n/Space/Enter call next   r recall   s start   f finish   x no-show   t transfer",
        "legend.2": "o open   p pause   c close   q quit",
        "ask.reason": "pause reason (Enter: none, Esc: cancel): ",
        "ask.target": "transfer to: service letter or counter number (Esc: cancel): ",
        "ask.position": "position: f first, l last, o original (Enter: last): ",
        "done.open": "counter {n} is open", "done.pause": "counter {n} is paused",
        "done.close": "counter {n} is closed", "done.call_next": "called {number} ({service})",
        "done.nobody": "nobody waits for counter {n}", "done.recall": "called {number} again",
        "done.start": "serving {number}", "done.finish": "{number} done",
        "done.no_show": "{number} did not come (no-show)", "done.transfer": "{number} sent to {target}",
        "to_service": "service {code}", "to_counter": "counter {n}",
        "cancelled": "cancelled", "unknown_key": "the key {key} does nothing; the keys are below",
        "bad_target": "type a service letter (such as B) or a counter number (such as 4)",
        "not_connected": "not connected to the server; try again in a moment",
        "just_called": "just called: {number} (press again to finish it and call the next)",
        "no_answer": "the server did not answer in time; check the screen before trying again",
        "refresh_failed": "could not refresh: {message}",
        "signing_in": "the session ended; signing in again…",
        "session_over": "the session ended: press q and sign in again",
    },
    "zh-TW": {
        "counter": "{n} 號櫃檯",
        "state.open": "服務中", "state.paused": "暫停", "state.closed": "已關閉",
        "paused_for": "暫停（{reason}）",
        "teller": "櫃員 {name}", "no_teller": "無櫃員", "you": "已登入：{name}",
        "online": "在線", "offline": "連線中斷，正在重新連線…",
        "no_ticket": "目前沒有客戶",
        "ticket.called": "已叫號", "ticket.serving": "辦理中",
        "green": "綠色通道", "green.elderly": "長者", "green.disabled": "身障人士",
        "green.pregnant": "孕婦", "green.urgent": "緊急業務",
        "waited": "已等候 {t}", "since_call": "叫號後 {t}", "service_time": "辦理 {t}",
        "recalls": "重呼 {n} 次", "transfers": "轉入 {n} 次",
        "waiting": "本櫃檯等候：{count} 人", "next": "下一位 {number}",
        "today": "今日已辦 {served} 筆，平均 {average}",
        "legend.1": "n/空白/Enter 叫下一位   r 重呼   s 開始辦理   f 辦結   x 過號   t 轉移",
        "legend.2": "o 開櫃   p 暫停   c 關櫃   q 退出",
        "ask.reason": "暫停原因（Enter：不填，Esc：取消）：",
        "ask.target": "轉移到——業務字母或櫃檯號（Esc：取消）：",
        "ask.position": "排隊位置——f 隊首，l 隊尾，o 原取號時間（Enter：隊尾）：",
        "done.open": "{n} 號櫃檯已開始服務", "done.pause": "{n} 號櫃檯已暫停",
        "done.close": "{n} 號櫃檯已關閉", "done.call_next": "已叫 {number}（{service}）",
        "done.nobody": "{n} 號櫃檯沒有人在等候", "done.recall": "再次呼叫 {number}",
        "done.start": "開始辦理 {number}", "done.finish": "{number} 已辦結",
        "done.no_show": "{number} 過號", "done.transfer": "{number} 已轉到 {target}",
        "to_service": "{code} 類業務", "to_counter": "{n} 號櫃檯",
        "cancelled": "已取消", "unknown_key": "「{key}」鍵沒有功能，請看下方按鍵說明",
        "bad_target": "請輸入業務字母（如 B）或櫃檯號（如 4）",
        "not_connected": "未連線到伺服器，請稍後再試",
        "just_called": "剛剛叫號：{number}（再按一次即辦結並叫下一位）",
        "no_answer": "伺服器未及時回應，請確認螢幕後再操作",
        "refresh_failed": "無法更新：{message}",
        "signing_in": "工作階段已失效，正在重新登入…",
        "session_over": "工作階段已失效：請按 q 結束後重新登入",
    },
}


def language_of(tag: str | None) -> str:
    """A supported language for any tag: zh, zh-Hans → zh-CN; zh-HK, zh-Hant → zh-TW; en-GB → en."""
    if not tag:
        return DEFAULT_LANGUAGE
    lower = tag.lower()
    for lang in LANGUAGES:
        if lang.lower() == lower:
            return lang
    if re.match(r"zh[-_](tw|hk|mo|hant)", lower):
        return "zh-TW"
    if lower.startswith(("zh", "cmn")):
        return "zh-CN"
    return "en" if lower.startswith("en") else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Words:
    lang: str

    def __call__(self, key: str, /, **params: Any) -> str:
        text = WORDS[self.lang].get(key) or WORDS[DEFAULT_LANGUAGE].get(key, key)
        return text.format(**params)

    def name(self, names: dict[str, str] | None, fallback: str = "") -> str:
        if not names:
            return fallback
        return names.get(self.lang) or names.get(DEFAULT_LANGUAGE) or names.get("en") or fallback


# --- the screen (pure) -------------------------------------------------------------------


@dataclass
class Screen:
    """Everything drawn on the terminal; :func:`render` turns it into lines."""

    branch: str
    counter: int
    user: str
    branch_names: dict[str, str] = field(default_factory=dict)
    service_names: dict[str, dict[str, str]] = field(default_factory=dict)
    view: CounterResult | None = None
    queue: QueueAnswer | None = None
    online: bool = False
    status: str = ""
    error: bool = False
    prompt: str | None = None
    typed: str = ""

    def say(self, text: str, *, error: bool = False) -> None:
        self.status, self.error = text, error


def clock(seconds: float | None) -> str:
    """``4:05``, ``1:02:03``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02}:{s:02}" if h else f"{m}:{s:02}"


def width_of(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (CJK characters take two)."""
    if width_of(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        used += width_of(c)
        if used > width - 1:
            break
        out.append(c)
    return "".join(out) + "…"


def _header(screen: Screen, words: Words) -> list[str]:
    view = screen.view.counter if screen.view else None
    parts = [words.name(screen.branch_names, screen.branch), words("counter", n=screen.counter)]
    if view is not None:
        if view.state == "paused" and view.pause_reason:
            parts.append(words("paused_for", reason=view.pause_reason))
        else:
            parts.append(words(f"state.{view.state}"))
        parts.append(words("teller", name=view.staff) if view.staff else words("no_teller"))
    online = words("online") if screen.online else words("offline")
    return [" · ".join(parts), f"{words('you', name=screen.user)} · {online}"]


def _ticket(ticket: TicketAnswer | None, screen: Screen, words: Words, now: datetime) -> list[str]:
    if ticket is None:
        return ["  " + words("no_ticket"), ""]
    service = words.name(screen.service_names.get(ticket.service), ticket.service)
    first = [ticket.number, service, words(f"ticket.{ticket.state}")]
    if ticket.priority == "green":
        reason = f" ({words(f'green.{ticket.green_reason}')})" if ticket.green_reason else ""
        first.append(words("green") + reason)
    called = ticket.called_at or now
    timers = [words("waited", t=clock((called - ticket.issued_at).total_seconds()))]
    if ticket.started_at is not None:
        timers.append(words("service_time", t=clock((now - ticket.started_at).total_seconds())))
    else:
        timers.append(words("since_call", t=clock((now - called).total_seconds())))
    if ticket.recalls:
        timers.append(words("recalls", n=ticket.recalls))
    if ticket.transfers:
        timers.append(words("transfers", n=ticket.transfers))
    return ["  " + "   ".join(first), "  " + "   ".join(timers)]


def render(screen: Screen, words: Words, *, now: datetime, width: int = 80) -> list[str]:
    """The screen as lines no wider than ``width``; a prompt, when asking, comes last."""
    rule = "-" * min(width, 78)
    current = screen.view.counter.current if screen.view else None
    lines = [*_header(screen, words), rule, *_ticket(current, screen, words, now), ""]
    if screen.queue is not None:
        waiting = words("waiting", count=len(screen.queue.tickets))
        if screen.queue.tickets:
            waiting += "   " + words("next", number=screen.queue.tickets[0].number)
        lines.append("  " + waiting)
    if screen.view is not None and screen.view.today is not None:
        today = screen.view.today
        lines.append("  " + words("today", served=today.served, average=clock(today.average_service_s)))
    lines += [rule, ("! " if screen.error else "  ") + screen.status, rule]
    lines += ["  " + words("legend.1"), "  " + words("legend.2")]
    if screen.prompt is not None:
        lines += ["", screen.prompt + screen.typed]
    return [clip(line, width) for line in lines]


# --- keys (pure) -------------------------------------------------------------------------

ENTER, ESCAPE, BACKSPACES, INTERRUPT, END = "\r", "\x1b", ("\x7f", "\x08"), "\x03", "\x04"

#: Key → command. Upper case works too (caps lock at a counter).
ACTIONS: dict[str, str] = {
    "o": "counter/open",
    "c": "counter/close",
    "n": "counter/call_next",
    " ": "counter/call_next",
    ENTER: "counter/call_next",
    "r": "counter/recall",
    "s": "counter/start",
    "f": "counter/finish",
    "x": "counter/no_show",
}
POSITIONS = {"f": "first", "l": "last", "o": "original", ENTER: "last"}


def split_keys(text: str) -> list[str]:
    """Typed text as keys: an escape sequence (arrows, F-keys) stays one key; CR LF is one Enter."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == ESCAPE and text[i + 1 : i + 2] in ("[", "O"):
            j = i + 2
            while j < len(text) - 1 and not ("\x40" <= text[j] <= "\x7e"):
                j += 1
            keys.append(text[i : j + 1])
            i = j + 1
            continue
        if c in "\r\n":
            keys.append(ENTER)
            i += 2 if text[i : i + 2] == "\r\n" else 1
            continue
        keys.append(c)
        i += 1
    return keys


def transfer_target(text: str) -> dict[str, Any] | None:
    """What the teller typed after ``t``: a service letter → ``service``, a number → ``to_counter``."""
    text = text.strip().upper()
    if re.fullmatch(r"[A-Z]{1,2}", text):
        return {"service": text}
    if re.fullmatch(r"\d{1,4}", text) and int(text) > 0:
        return {"to_counter": int(text)}
    return None


# --- HTTP --------------------------------------------------------------------------------


class ServerSaid(Exception):
    """A refusal or failure, in words fit for the teller; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class StaffSession:
    """The teller's HTTP session: sign-in, and the two reads the screen needs."""

    def __init__(self, http: aiohttp.ClientSession, server: str, branch: str, counter: int) -> None:
        self.http, self.server = http, server.rstrip("/")
        self.branch, self.counter = branch, counter
        self.cookie: str | None = None

    async def sign_in(self, user: str, password: str) -> str:
        """Sign in; returns the ``Cookie`` header value for the websocket."""
        self.cookie = None
        await self._call("POST", "/auth/login", json={"username": user, "password": password})
        if self.cookie is None:
            raise ServerSaid("the server signed us in but set no session cookie")
        return self.cookie

    async def counter_view(self) -> CounterResult:
        path = f"/branches/{self.branch}/counters/{self.counter}"
        return CounterResult.model_validate(await self._call("GET", path))

    async def queue(self) -> QueueAnswer:
        path = f"/branches/{self.branch}/queue?counter={self.counter}"
        return QueueAnswer.model_validate(await self._call("GET", path))

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.server}/api/v1{path}"
        headers = {"Cookie": self.cookie} if self.cookie else {}
        try:
            async with self.http.request(method, url, headers=headers, **kwargs) as resp:
                if SESSION_COOKIE in resp.cookies:
                    self.cookie = f"{SESSION_COOKIE}={resp.cookies[SESSION_COOKIE].value}"
                try:
                    body = await resp.json(content_type=None)
                except ValueError:  # not JSON: a proxy's error page, say
                    body = None
                if resp.status >= 400:
                    error = body.get("error", {}) if isinstance(body, dict) else {}
                    raise ServerSaid(error.get("message") or f"the server answered {resp.status}",
                                     resp.status)
                return body
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            raise ServerSaid(f"cannot reach the server at {self.server} ({e or type(e).__name__})") from None


# --- the terminal --------------------------------------------------------------------------


class RawTerminal:
    """The terminal in raw mode on the alternate screen; restored on exit, whatever happens."""

    ENTER_SCREEN = "\x1b[?1049h\x1b[H\x1b[2J"
    LEAVE_SCREEN = "\x1b[?25h\x1b[?1049l"

    def __init__(self, fd_in: int, out) -> None:
        self.fd, self.out = fd_in, out
        self.saved: list | None = None
        self.last = ""

    def __enter__(self) -> Self:
        import termios

        self.saved = termios.tcgetattr(self.fd)
        mode = termios.tcgetattr(self.fd)
        # Keys arrive one at a time, unechoed; Ctrl-C and Ctrl-S reach us as keys, Enter as CR.
        mode[0] &= ~(termios.IXON | termios.ICRNL | termios.INLCR | termios.IGNCR)
        mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSAFLUSH, mode)
        self.write(self.ENTER_SCREEN)
        return self

    def __exit__(self, *_exc) -> None:
        import termios

        with contextlib.suppress(OSError):
            self.write(self.LEAVE_SCREEN)
        if self.saved is not None:
            with contextlib.suppress(termios.error):  # the terminal may be gone (hang-up)
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def write(self, text: str) -> None:
        self.out.write(text.encode("utf-8", "replace"))
        self.out.flush()

    def draw(self, lines: list[str], *, cursor: bool) -> None:
        """Overwrite the screen in place (no flicker); the cursor ends after the last line."""
        text = "\x1b[H" + "\x1b[K\r\n".join(lines) + "\x1b[K\x1b[J"
        text += "\x1b[?25h" if cursor else "\x1b[?25l"
        if text != self.last:
            self.last = text
            self.write(text)

    def clear(self) -> None:
        self.last = ""
        self.write("\x1b[H\x1b[2J")

    def width(self) -> int:
        return shutil.get_terminal_size((80, 24)).columns


class Keyboard:
    """Keys from a file descriptor, as an async queue; Ctrl-C and end of input call ``on_quit``."""

    def __init__(self, fd: int, on_quit: Callable[[], None]) -> None:
        self.fd, self.on_quit = fd, on_quit
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __enter__(self) -> Self:
        asyncio.get_running_loop().add_reader(self.fd, self._readable)
        return self

    def __exit__(self, *_exc) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1024)
        except OSError:
            data = b""
        if not data:  # the terminal went away
            asyncio.get_running_loop().remove_reader(self.fd)
            self.on_quit()
            return
        for key in split_keys(self.decoder.decode(data)):
            if key in (INTERRUPT, END):
                self.on_quit()
            else:
                self.keys.put_nowait(key)

    async def get(self) -> str:
        return await self.keys.get()

    def drop_typed_ahead(self) -> None:
        while not self.keys.empty():
            self.keys.get_nowait()


class StatusLog(logging.Handler):
    """While the screen is up, warnings go to its status line instead of over it."""

    def __init__(self, screen: Screen) -> None:
        super().__init__(logging.WARNING)
        self.screen = screen

    def emit(self, record: logging.LogRecord) -> None:
        self.screen.say(record.getMessage(), error=True)


# --- the teller's terminal ----------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    server: str
    branch: str
    counter: int
    user: str
    lang: str | None = None
    password_from_env: bool = False


class Failed(Exception):
    """The terminal cannot start: a plain message, exit status 2."""


class TellerTerminal:
    """One counter's screen and keys, connected to the server."""

    def __init__(self, opts: Options, http: StaffSession, password: str) -> None:
        self.opts, self.http = opts, http
        # Kept only to sign in again when an unattended box's session ends.
        self._password = password if opts.password_from_env else None
        self.screen = Screen(opts.branch, opts.counter, opts.user)
        self.words = Words(language_of(opts.lang) if opts.lang else DEFAULT_LANGUAGE)
        self.client: BranchClient | None = None
        self.term: RawTerminal | None = None
        self.keyboard: Keyboard | None = None
        self.quit = asyncio.Event()
        self.version = 0  # bumped by every command result, so an older read never overwrites it
        self._refresh = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._connection: asyncio.Task | None = None  # the client's run()
        self._just_called: tuple[int, float] | None = None  # (ticket id, monotonic time) of our last call

    # --- connecting ------------------------------------------------------------------------

    async def connect(self, cookie: str) -> None:
        """Connect a websocket client and wait for its first snapshot; :class:`ServerSaid` if not."""
        client = BranchClient(
            self.opts.server, role="counter", branch=self.opts.branch, cookie=cookie,
            on_event=self._on_event, on_snapshot=self._on_snapshot,
        )
        running = asyncio.create_task(client.run(), name="counter-websocket")
        synced = asyncio.create_task(client.synced.wait())
        done, _ = await asyncio.wait({running, synced}, timeout=CONNECT_TIMEOUT_S,
                                     return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        if running in done:
            try:
                running.result()
            except Refused as e:
                raise ServerSaid(f"the server refused the connection: {e}") from None
            except Exception as e:  # noqa: BLE001 — any failure becomes a plain message
                raise ServerSaid(f"cannot connect to {client.url} ({e or type(e).__name__})") from None
        if not done:
            await _cancelled(running)
            raise ServerSaid(f"no answer from {client.url} within {CONNECT_TIMEOUT_S:.0f} s")
        self.client, self._connection = client, running
        self.screen.online = True
        if not self.opts.lang:
            branch = (client.state or {}).get("branch", {})
            self.words = Words(language_of(branch.get("language")))

    async def disconnect(self) -> None:
        if self._connection is not None:
            await _cancelled(self._connection)
            self._connection = None

    async def _stay_connected(self) -> None:
        """The client reconnects by itself; only a refusal (the session ended) comes here."""
        delays = backoff()
        while True:
            connection = self._connection
            assert connection is not None  # connect() came first, and every reconnection sets it again
            try:
                await connection
            except Refused as e:
                self.screen.say(str(e), error=True)
            except Exception as e:  # noqa: BLE001 — shown, then signed in again
                self.screen.say(f"cannot connect to the server ({e or type(e).__name__})", error=True)
            self.screen.online = False
            self.draw()
            if self._password is None:
                self.screen.say(self.words("session_over"), error=True)
                self.draw()
                return
            while True:
                await asyncio.sleep(next(delays))
                self.screen.say(self.words("signing_in"))
                self.draw()
                try:
                    cookie = await self.http.sign_in(self.opts.user, self._password)
                    await self.connect(cookie)
                except ServerSaid as e:
                    self.screen.say(e.message, error=True)
                    self.draw()
                    continue
                self.screen.say("")
                self._refresh.set()
                break

    # --- the loop ------------------------------------------------------------------------

    async def run(self, term: RawTerminal, fd_in: int) -> None:
        """Show the screen and act on keys until q, Ctrl-C, a signal or the terminal closing."""
        self.term = term
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        for s in signals:
            loop.add_signal_handler(s, self.quit.set)
        loop.add_signal_handler(signal.SIGWINCH, self.redraw)
        try:
            with Keyboard(fd_in, self.quit.set) as keyboard:
                self.keyboard = keyboard
                self._tasks = [
                    asyncio.create_task(self._stay_connected()),
                    asyncio.create_task(self._refresher()),
                    asyncio.create_task(self._ticker()),
                ]
                self._refresh.set()
                self.draw()
                keys = asyncio.create_task(self._keys())
                quit_ = asyncio.create_task(self.quit.wait())
                await asyncio.wait({keys, quit_}, return_when=asyncio.FIRST_COMPLETED)
                for task in (keys, quit_, *self._tasks):
                    await _cancelled(task)
        finally:
            for s in (*signals, signal.SIGWINCH):
                loop.remove_signal_handler(s)

    async def _keys(self) -> None:
        keyboard = self._keyboard()
        while True:
            key = await keyboard.get()
            if key.lower() == "q":
                return
            self.screen.say("")
            try:
                await self.act(key)
            except Exception as e:  # a bug here must not take the counter down
                log.debug("key %r failed", key, exc_info=True)
                self.screen.say(f"unexpected error: {type(e).__name__}: {e}", error=True)
            keyboard.drop_typed_ahead()
            self.draw()

    def _keyboard(self) -> Keyboard:
        assert self.keyboard is not None, "keys are read only while run() holds the keyboard"
        return self.keyboard

    async def act(self, key: str) -> None:
        """Do what ``key`` stands for."""
        lower = key.lower() if len(key) == 1 else key
        if lower in ACTIONS:
            await self.command(ACTIONS[lower])
        elif lower == "p":
            reason = await self.ask(self.words("ask.reason"))
            if reason is not None:
                await self.command("counter/pause", reason=reason.strip() or None)
        elif lower == "t":
            await self.transfer()
        elif key.startswith(ESCAPE):
            pass  # arrows and function keys do nothing, quietly
        else:
            shown = key if key.isprintable() else repr(key)
            self.screen.say(self.words("unknown_key", key=shown), error=True)

    async def transfer(self) -> None:
        typed = await self.ask(self.words("ask.target"))
        if typed is None:
            return
        target = transfer_target(typed)
        if target is None:
            self.screen.say(self.words("bad_target"), error=True)
            return
        position = await self.ask(self.words("ask.position"), choices=POSITIONS)
        if position is not None:
            await self.command("counter/transfer", position=position, **target)

    async def ask(self, prompt: str, *, choices: dict[str, str] | None = None) -> str | None:
        """A line typed on the prompt line (or one of ``choices``' keys); None on Esc."""
        self.screen.prompt, self.screen.typed = prompt, ""
        try:
            while True:
                self.draw()
                key = await self._keyboard().get()
                if key == ESCAPE:
                    self.screen.say(self.words("cancelled"))
                    return None
                if choices is not None:
                    if key.lower() in choices:
                        return choices[key.lower()]
                elif key == ENTER:
                    return self.screen.typed
                elif key in BACKSPACES:
                    self.screen.typed = self.screen.typed[:-1]
                elif key == "\x15":  # Ctrl-U
                    self.screen.typed = ""
                elif key.isprintable() and len(self.screen.typed) < MAX_TYPED:
                    self.screen.typed += key
        finally:
            self.screen.prompt, self.screen.typed = None, ""

    async def command(self, type_: str, **args: Any) -> None:
        """Send one counter command; the screen shows its result or the server's refusal."""
        if self.client is None or not self.client.connected.is_set():
            self.screen.say(self.words("not_connected"), error=True)
            return
        self.draw()
        # The ticket this screen shows as current: a key pressed twice acts once (``stale``).
        current = self.screen.view.counter.current if self.screen.view else None
        if type_ == "counter/call_next" and self._second_press(current):
            self.screen.say(self.words("just_called", number=current.number))  # type: ignore[union-attr]
            self._just_called = None  # the next press is meant: finish and call the next
            return
        try:
            result = await self.client.command(
                type_, counter=self.opts.counter, timeout=COMMAND_TIMEOUT_S,
                expect=current.id if current is not None else None, **args
            )
        except CommandError as e:
            self.screen.say(e.message, error=True)
            return
        except TimeoutError:
            self.screen.say(self.words("no_answer"), error=True)
            return
        except ConnectionError:
            self.screen.say(self.words("not_connected"), error=True)
            return
        answer = CounterResult.model_validate(result)
        if type_ in ("counter/call_next", "counter/call") and answer.ticket is not None:
            self._just_called = (answer.ticket.id, time.monotonic())
        today = self.screen.view.today if self.screen.view else None
        self.screen.view = answer.model_copy(update={"today": today})
        self.version += 1
        self._refresh.set()
        self.screen.say(self._done(type_, answer, args))

    def _second_press(self, current: Any) -> bool:
        """A call-next moments after this screen's call, the customer not yet started: the key
        pressed twice (as the teller page judges it), not a wish to finish someone not yet here."""
        if current is None or current.state != "called" or self._just_called is None:
            return False
        ticket_id, at = self._just_called
        return current.id == ticket_id and time.monotonic() - at < JUST_CALLED_S

    def _done(self, type_: str, answer: CounterResult, args: dict[str, Any]) -> str:
        w, n, ticket = self.words, self.opts.counter, answer.ticket
        action = type_.removeprefix("counter/")
        if action in ("open", "pause", "close"):
            return w(f"done.{action}", n=n)
        if ticket is None:
            return w("done.nobody", n=n)
        if action == "call_next":
            service = w.name(self.screen.service_names.get(ticket.service), ticket.service)
            return w("done.call_next", number=ticket.number, service=service)
        if action == "transfer":
            target = (w("to_service", code=args["service"]) if "service" in args
                      else w("to_counter", n=args["to_counter"]))
            return w("done.transfer", number=ticket.number, target=target)
        return w(f"done.{action}", number=ticket.number)

    # --- keeping the screen current ----------------------------------------------------

    def _on_event(self, event: EventMessage) -> None:
        # Any ticket event can change this counter's queue; counter events only if ours.
        if event.kind in events.TICKET_KINDS or event.data.get("counter") == self.opts.counter:
            self._refresh.set()

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        state = snapshot.state
        self.screen.branch_names = state.get("branch", {}).get("names", {})
        self.screen.service_names = {s["code"]: s.get("names", {}) for s in state.get("services", [])}
        self._refresh.set()

    async def _refresher(self) -> None:
        """Read the counter and its queue again whenever something may have changed them."""
        while True:
            await self._refresh.wait()
            self._refresh.clear()
            version = self.version
            try:
                view, queue = await self.read()
            except ServerSaid as e:
                self.screen.say(self.words("refresh_failed", message=e.message), error=True)
                self.draw()
                continue
            if version != self.version:  # a command answered meanwhile: read again
                self._refresh.set()
                continue
            self.screen.view, self.screen.queue = view, queue
            self.draw()

    async def read(self) -> tuple[CounterResult, QueueAnswer]:
        """The counter view and its queue; an unattended box whose session ended signs in again."""
        try:
            try:
                return await asyncio.gather(self.http.counter_view(), self.http.queue())
            except ServerSaid as e:
                if e.status != 401 or self._password is None:
                    raise
            await self.http.sign_in(self.opts.user, self._password)
            return await asyncio.gather(self.http.counter_view(), self.http.queue())
        except ValidationError as e:
            raise ServerSaid(f"an answer this terminal does not understand ({e.error_count()} errors)") from None

    async def _ticker(self) -> None:
        """Once a second: the timers, and the connection state."""
        while True:
            online = self.client is not None and self.client.synced.is_set()
            if online and not self.screen.online:
                self._refresh.set()
            self.screen.online = online
            self.draw()
            await asyncio.sleep(1)

    def redraw(self) -> None:
        """Everything again, from a blank screen (the terminal was resized)."""
        if self.term is not None:
            self.term.clear()
        self.draw()

    def draw(self) -> None:
        if self.term is None:
            return
        lines = render(self.screen, self.words, now=datetime.now(UTC), width=self.term.width())
        self.term.draw(lines, cursor=self.screen.prompt is not None)


async def _cancelled(task: asyncio.Task) -> None:
    """Cancel ``task`` and wait until it has finished (whatever it ends with)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


# --- entry point ---------------------------------------------------------------------------


def read_password(user: str) -> tuple[str, bool]:
    """The password from ``BRANCHQ_PASSWORD`` (unattended boxes), else asked; and whether from env."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password, True
    password = getpass.getpass(f"password for {user}: ")
    if not password:
        raise Failed("no password given")
    return password, False


async def teller(opts: Options, password: str) -> None:
    """Sign in, connect, then run the screen until the teller quits."""
    timeout = aiohttp.ClientTimeout(total=COMMAND_TIMEOUT_S)
    # Cookies by hand (one header, the same for HTTP and the websocket), so no jar.
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http_session:
        http = StaffSession(http_session, opts.server, opts.branch, opts.counter)
        app = TellerTerminal(opts, http, password)
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            try:
                await app.connect(await http.sign_in(opts.user, password))
                # The first screen complete; and an unknown counter is told now, not on the screen.
                app.screen.view, app.screen.queue = await app.read()
            except ServerSaid as e:
                raise Failed(e.message) from None
            root.handlers, root.level = [StatusLog(app.screen)], logging.WARNING
            with RawTerminal(sys.stdin.fileno(), sys.stdout.buffer) as term:
                await app.run(term, sys.stdin.fileno())
        finally:
            root.handlers, root.level = handlers, level
            await app.disconnect()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``branchq counter`` and ``branchq-counter``."""
    p.add_argument("--server", required=True, help="server URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--branch", required=True, help="branch id")
    p.add_argument("--counter", type=int, required=True, help="counter number")
    p.add_argument("--user", required=True, help=f"teller's user name (password: asked, or {PASSWORD_ENV})")
    p.add_argument("--lang", choices=["zh-CN", "en", "zh-TW"], help="screen language (default: the branch's)")


def main(argv: list[str] | None = None, *, prog: str = "branchq-counter") -> None:
    """``branchq-counter``: the terminal alone, importing nothing of the server's own libraries."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog=prog, description="the teller's terminal at a counter (keys, plain screen)")
    add_arguments(p)
    run(p.parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """``branchq counter``: exit status 0 on q or Ctrl-C, 2 with a plain message if it cannot start."""
    try:
        if os.name != "posix":
            raise Failed("the counter terminal needs a POSIX terminal (Linux, macOS)")
        if not re.match(r"https?://", args.server):
            raise Failed(f"--server takes a URL such as http://127.0.0.1:8080, not {args.server!r}")
        if not os.isatty(sys.stdin.fileno()):
            raise Failed("the counter terminal needs a terminal: run it in one, not with piped input")
        password, from_env = read_password(args.user)
        opts = Options(
            server=args.server, branch=args.branch, counter=args.counter, user=args.user,
            lang=args.lang, password_from_env=from_env,
        )
        asyncio.run(teller(opts, password))
    except Failed as e:
        print(f"branchq counter: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
    except Exception as e:  # noqa: BLE001 — a plain message, never a traceback
        print(f"branchq counter: stopped by an unexpected error: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1) from None

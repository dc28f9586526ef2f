"""The printed ticket: a pure layout, and its renderings as an ESC/POS job or a PNG.

:func:`ticket_layout` turns what a ticket says (branch, service, number, people
ahead, estimate, time, phone URL) into a :class:`Layout`: a short list of blocks
(text lines, rules, the QR code, feeds) for one paper width and one language. It
does no I/O, so the wording and order of a ticket are tested with plain values.

:func:`render` writes a layout to any ``escpos.escpos.Escpos`` printer object in
one of three modes:

- ``gb18030`` / ``gbk``: the printer's own Chinese mode. Every line holding
  Chinese is sent as ``FS &`` (0x1C 0x26) + the line encoded in GB18030 or GBK +
  ``FS .`` (0x1C 0x2E); the QR code is drawn by the printer (``GS ( k``). Which
  of the two a printer understands is a setting of the printer model; a
  character that GBK lacks prints as ``?`` there.
- ``raster``: the whole ticket drawn with Pillow and a CJK font as one 1-bit
  image no wider than the paper (384 dots at 58 mm, 576 at 80 mm): works on any
  printer, whatever its fonts.

Every job starts with ``ESC @`` and ends with a feed and a cut (``GS V``).
:func:`preview_png` saves the raster image, so a ticket can be looked at
without a printer.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from escpos.escpos import Escpos
    from PIL import Image, ImageFont

Language = Literal["zh-CN", "en", "zh-TW"]
Mode = Literal["raster", "gbk", "gb18030"]
Align = Literal["left", "center", "right"]

LANGUAGES: tuple[Language, ...] = ("zh-CN", "en", "zh-TW")
MODES: tuple[Mode, ...] = ("raster", "gbk", "gb18030")
PAPER_DOTS = {58: 384, 80: 576}
"""Printable width in dots (203 dpi heads) of each paper width in mm."""
FONT_A_DOTS = 12
"""Width of one half-width character of font A; a Chinese character takes two."""
MAX_NUMBER_SCALE = {58: 4, 80: 5}
QR_MODULE_DOTS = {58: 5, 80: 6}

FS_KANJI_ON = b"\x1c\x26"  # FS &: Chinese (Kanji) character mode on
FS_KANJI_OFF = b"\x1c\x2e"  # FS .: off

# --- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """One logical line; a renderer wraps it to the paper width. ``scale`` is 1–8."""

    text: str
    scale: int = 1
    bold: bool = False
    align: Align = "center"


@dataclass(frozen=True)
class Rule:
    """A separating line across the paper."""


@dataclass(frozen=True)
class QR:
    payload: str


@dataclass(frozen=True)
class Feed:
    lines: int = 1


Block = Text | Rule | QR | Feed


@dataclass(frozen=True)
class Layout:
    """A ticket for one paper width and language; rendering always ends with a cut."""

    paper_mm: int
    language: Language
    blocks: tuple[Block, ...]

    @property
    def dots(self) -> int:
        return PAPER_DOTS[self.paper_mm]

    @property
    def columns(self) -> int:
        """Half-width characters per line in font A at scale 1."""
        return self.dots // FONT_A_DOTS

    def texts(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Text)]


# --- wording ----------------------------------------------------------------------------

PHRASES: dict[Language, dict[str, str]] = {
    "zh-CN": {
        "green": "绿色通道",
        "reprint": "补打 / REPRINT {t}",
        "ahead": "您前面还有 {n} 人等候",
        "ahead_none": "您前面没有人等候",
        "wait": "预计等候约 {d}",
        "wait_soon": "即将为您叫号",
        "no_counter": "目前暂无窗口办理此业务，开放后按顺序叫号",
        "minutes": "{m} 分钟",
        "hours": "{h} 小时 {m} 分钟",
        "issued": "取号时间 {t}",
        "scan": "扫码查看排队进度",
        "footer": "请留意叫号及屏幕显示，谢谢",
    },
    "zh-TW": {
        "green": "綠色通道",
        "reprint": "補印 / REPRINT {t}",
        "ahead": "您前面還有 {n} 人等候",
        "ahead_none": "您前面沒有人等候",
        "wait": "預計等候約 {d}",
        "wait_soon": "即將為您叫號",
        "no_counter": "目前沒有櫃檯辦理此業務，開放後依序叫號",
        "minutes": "{m} 分鐘",
        "hours": "{h} 小時 {m} 分鐘",
        "issued": "取號時間 {t}",
        "scan": "掃碼查看排隊進度",
        "footer": "請留意叫號及螢幕顯示，謝謝",
    },
    "en": {
        "green": "Green channel",
        "reprint": "REPRINT / 补打 {t}",
        "ahead": "{n} people ahead of you",
        "ahead_one": "1 person ahead of you",
        "ahead_none": "No one ahead of you",
        "wait": "Estimated wait: about {d}",
        "wait_soon": "You will be called shortly",
        "no_counter": "No counter is open for this service now; you keep your place",
        "minutes": "{m} min",
        "hours": "{h} h {m} min",
        "issued": "Issued {t}",
        "scan": "Scan to follow your place in the queue",
        "footer": "Please listen for your number. Thank you.",
    },
}


def name_in(names: Mapping[str, str], language: Language) -> str:
    """A name in ``language``, else in zh-CN, else English, else any."""
    for lang in (language, "zh-CN", "en"):
        if names.get(lang):
            return names[lang]
    return next(iter(names.values()), "")


def _people_ahead(n: int, words: Mapping[str, str]) -> str:
    if n <= 0:
        return words["ahead_none"]
    if n == 1 and "ahead_one" in words:
        return words["ahead_one"]
    return words["ahead"].format(n=n)


def _estimate(seconds: int | None, words: Mapping[str, str]) -> str:
    """Whole minutes, rounded up: a customer forgives an early call, not a late one.

    None (no counter open for the service) says so: never "called shortly".
    """
    if seconds is None:
        return words["no_counter"]
    if seconds < 60:
        return words["wait_soon"]
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return words["wait"].format(d=words["minutes"].format(m=minutes))
    return words["wait"].format(d=words["hours"].format(h=minutes // 60, m=minutes % 60))


def _number_scale(number: str, paper_mm: int) -> int:
    """The largest magnification that keeps the number on one line."""
    fits = PAPER_DOTS[paper_mm] // (FONT_A_DOTS * max(len(number), 1))
    return max(1, min(MAX_NUMBER_SCALE[paper_mm], fits))


def ticket_layout(
    *,
    branch_names: Mapping[str, str],
    service_names: Mapping[str, str],
    number: str,
    ahead: int,
    estimated_wait_s: int | None,
    issued_at: datetime,
    phone_url: str,
    footer: str | None = None,
    language: Language = "zh-CN",
    paper_mm: int = 80,
    green_channel: bool = False,
    reprinted_at: datetime | None = None,
) -> Layout:
    """What a customer's ticket says, top to bottom.

    Args:
        issued_at: already in the branch's time zone; printed as it is.
        footer: the branch's own closing line; a polite default when None.
        green_channel: adds the green-channel mark under the number.
        reprinted_at: a reprint (in the branch's zone): the slip is marked as a copy, with the time.

    Raises:
        ValueError: an unknown language or paper width.
    """
    if language not in PHRASES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if paper_mm not in PAPER_DOTS:
        raise ValueError(f"paper must be one of {', '.join(map(str, PAPER_DOTS))} mm")
    words = PHRASES[language]
    branch = name_in(branch_names, language)
    blocks: list[Block] = []
    if reprinted_at is not None:
        blocks += [Text(words["reprint"].format(t=reprinted_at.strftime("%H:%M")), bold=True), Rule()]
    blocks.append(Text(branch, bold=True))
    english = branch_names.get("en")
    if language != "en" and english and english != branch:
        blocks.append(Text(english))
    blocks += [
        Rule(),
        Text(name_in(service_names, language), scale=2, bold=True),
        Text(number, scale=_number_scale(number, paper_mm), bold=True),
    ]
    if green_channel:
        blocks.append(Text(words["green"], bold=True))
    blocks += [
        Feed(),
        Text(_people_ahead(ahead, words)),
        Text(_estimate(estimated_wait_s, words)),
        Text(words["issued"].format(t=issued_at.strftime("%Y-%m-%d %H:%M"))),
        Feed(),
        QR(phone_url),
        Text(words["scan"]),
        Rule(),
        Text(footer if footer is not None else words["footer"]),
    ]
    return Layout(paper_mm=paper_mm, language=language, blocks=tuple(blocks))


# --- wrapping -----------------------------------------------------------------------------


def cell_width(text: str) -> int:
    """Width in half-width cells: Chinese and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, fits, *, break_at_spaces: bool = True) -> list[str]:
    """Split ``text`` into lines for which ``fits(line)`` holds.

    Breaks at the last space when the line has one (English), else between any
    two characters (Chinese has no spaces). A single character that does not fit
    still gets a line of its own, so nothing is ever dropped.
    """
    lines: list[str] = []
    rest = text.strip()
    while rest:
        if fits(rest):
            lines.append(rest)
            break
        end = 1
        while end < len(rest) and fits(rest[: end + 1]):
            end += 1
        cut = rest.rfind(" ", 0, end + 1) if break_at_spaces else -1
        if cut > 0:
            end = cut
        lines.append(rest[:end].rstrip())
        rest = rest[end:].lstrip()
    return lines or [""]


# --- ESC/POS in the printer's Chinese mode ---------------------------------------------------


def render(layout: Layout, printer: Escpos, *, mode: Mode = "gb18030", font: FontChoice | None = None) -> None:
    """Write the whole ticket to ``printer``, ending with a cut.

    Raises:
        ValueError: an unknown mode.
        NoCJKFont: raster mode, and no CJK font was given or found.
        Whatever the printer object raises when it cannot write.
    """
    if mode == "raster":
        _render_raster(layout, printer, font)
    elif mode in ("gbk", "gb18030"):
        _render_text(layout, printer, mode)
    else:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")


def render_job(layout: Layout, *, mode: Mode = "gb18030", font: FontChoice | None = None) -> bytes:
    """The ticket's ESC/POS bytes, rendered on a ``Dummy`` printer (no device touched)."""
    from escpos.printer import Dummy

    dummy = Dummy()
    render(layout, dummy, mode=mode, font=font)
    return dummy.output


def encode_line(text: str, encoding: str) -> bytes:
    """One line: ASCII as it is; anything else inside ``FS &`` … ``FS .`` in ``encoding``."""
    if text.isascii():
        return text.encode("ascii")
    return FS_KANJI_ON + text.encode(encoding, errors="replace") + FS_KANJI_OFF


def _render_text(layout: Layout, printer: Escpos, encoding: str) -> None:
    printer.hw("INIT")
    for block in layout.blocks:
        if isinstance(block, Text):
            _text_style(printer, block)
            columns = layout.columns // block.scale
            for line in wrap(block.text, lambda s, columns=columns: cell_width(s) <= columns):
                printer._raw(encode_line(line, encoding) + b"\n")
            _reset_style(printer, block)
        elif isinstance(block, Rule):
            printer.set(align="left")
            printer._raw(b"-" * layout.columns + b"\n")
        elif isinstance(block, QR):
            from escpos.constants import QR_ECLEVEL_M

            printer.set(align="center")
            printer.qr(block.payload, ec=QR_ECLEVEL_M, size=QR_MODULE_DOTS[layout.paper_mm], native=True)
            printer._raw(b"\n")
        elif isinstance(block, Feed):
            printer._raw(b"\n" * block.lines)
    printer.set(align="left")
    printer.cut()


def _text_style(printer: Escpos, block: Text) -> None:
    if block.scale > 1:
        # GS ! applies to Chinese characters in FS & mode as well as to ASCII.
        printer.set(align=block.align, bold=block.bold, custom_size=True, width=block.scale, height=block.scale)
    else:
        printer.set(align=block.align, bold=block.bold or None)


def _reset_style(printer: Escpos, block: Text) -> None:
    if block.scale > 1:
        printer.set(custom_size=True, width=1, height=1)  # GS ! 0
    if block.bold:
        printer.set(bold=False)


# --- raster: the ticket as one image -----------------------------------------------------------


class NoCJKFont(RuntimeError):
    """Raster mode needs a font with Chinese characters, and none was found."""


@dataclass(frozen=True)
class FontChoice:
    """A font file (and face index inside a .ttc collection) for each language."""

    path: str
    index: int = 0
    bold_path: str | None = None

    def face(self, language: Language, size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
        path = self.bold_path if bold and self.bold_path else self.path
        return _load_face(path, _face_index(path, language, self.index), size)


NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_CJK_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
CJK_FONT_FILES = (
    NOTO_CJK,  # Debian fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)
FONT_ENV = "BRANCHQ_TICKET_FONT"
"""``PATH`` or ``PATH#INDEX`` of a font to use instead of looking for one."""


def find_cjk_font() -> FontChoice | None:
    """A CJK font: $BRANCHQ_TICKET_FONT, else a known Debian font, else what fontconfig offers."""
    if os.environ.get(FONT_ENV):
        path, _, index = os.environ[FONT_ENV].partition("#")
        return FontChoice(path, int(index or 0))
    for path in CJK_FONT_FILES:
        if Path(path).is_file():
            bold = NOTO_CJK_BOLD if path == NOTO_CJK and Path(NOTO_CJK_BOLD).is_file() else None
            return FontChoice(path, bold_path=bold)
    return _fontconfig_cjk_font()


def _fontconfig_cjk_font() -> FontChoice | None:
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh-cn", "file", "index"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in sorted(out.splitlines()):
        path, _, rest = line.partition(":")
        if path.endswith((".ttf", ".ttc", ".otf", ".otc")):
            index = rest.split("=")[-1].strip() if "index=" in rest else "0"
            return FontChoice(path.strip(), int(index or 0))
    return None


@lru_cache(maxsize=64)
def _load_face(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(path, size=size, index=index)


@lru_cache(maxsize=16)
def _face_index(path: str, language: Language, default: int) -> int:
    """In a Noto CJK collection, the Simplified (SC) or Traditional (TC) face for the language."""
    if "NotoSansCJK" not in path and "NotoSerifCJK" not in path:
        return default
    from PIL import ImageFont

    wanted = "TC" if language == "zh-TW" else "SC"
    for index in range(10):
        try:
            family = ImageFont.truetype(path, size=12, index=index).getname()[0]
        except OSError:
            break
        if family is not None and family.endswith(f" {wanted}"):
            return index
    return default


RASTER_LINE_PX = 24
"""Font size at scale 1: as tall as the printer's own 24-dot font A."""
MARGIN_PX = 8


def raster_image(layout: Layout, *, font: FontChoice | None = None) -> Image.Image:
    """The ticket drawn in black on white, exactly ``layout.dots`` wide (mode ``1``).

    Raises:
        NoCJKFont: none given and none found.
    """
    from PIL import Image, ImageDraw

    font = font or find_cjk_font()
    if font is None:
        raise NoCJKFont(
            f"raster tickets need a CJK font: install fonts-noto-cjk or fonts-wqy-microhei, or set {FONT_ENV}"
        )
    width = layout.dots
    inner = width - 2 * MARGIN_PX
    pieces: list[tuple[Image.Image, Align]] = []
    for block in layout.blocks:
        if isinstance(block, Text):
            face = font.face(layout.language, RASTER_LINE_PX * block.scale, bold=block.bold)
            for line in wrap(block.text, lambda s, f=face: f.getlength(s) <= inner):
                pieces.append((_text_image(line, face, bold=block.bold and not font.bold_path), block.align))
        elif isinstance(block, Rule):
            rule = Image.new("L", (inner, 12), 255)
            ImageDraw.Draw(rule).line([(0, 6), (inner - 1, 6)], fill=0, width=2)
            pieces.append((rule, "center"))
        elif isinstance(block, QR):
            pieces.append((_qr_image(block.payload, QR_MODULE_DOTS[layout.paper_mm], inner), "center"))
        elif isinstance(block, Feed):
            pieces.append((Image.new("L", (1, RASTER_LINE_PX * block.lines), 255), "left"))
    height = sum(p.height for p, _ in pieces) + 2 * MARGIN_PX
    ticket = Image.new("L", (width, height), 255)
    y = MARGIN_PX
    for piece, align in pieces:
        x = {"left": MARGIN_PX, "center": (width - piece.width) // 2, "right": width - MARGIN_PX - piece.width}[align]
        ticket.paste(piece, (max(0, x), y))
        y += piece.height
    return ticket.convert("1", dither=Image.Dither.NONE)


def _text_image(line: str, face: ImageFont.FreeTypeFont, *, bold: bool) -> Image.Image:
    from PIL import Image, ImageDraw

    ascent, descent = face.getmetrics()
    w = max(1, math.ceil(face.getlength(line)) + 1)
    img = Image.new("L", (w, ascent + descent + 4), 255)
    draw = ImageDraw.Draw(img)
    # Without a bold face, the line drawn twice one dot apart: what printers do for bold.
    for dx in (0, 1) if bold else (0,):
        draw.text((dx, 2), line, font=face, fill=0)
    return img


def _qr_image(payload: str, module_px: int, max_width: int) -> Image.Image:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=module_px, border=2)
    code.add_data(payload)
    code.make(fit=True)
    image = code.make_image().get_image().convert("L")
    if image.width > max_width:  # a very long URL: smaller modules rather than a clipped code
        image = image.resize((max_width, max_width))
    return image


def _render_raster(layout: Layout, printer: Escpos, font: FontChoice | None) -> None:
    image = raster_image(layout, font=font)
    _declare_media_width(printer, layout.dots)
    printer.hw("INIT")
    printer.image(image, impl="bitImageRaster")
    printer.cut()


def _declare_media_width(printer: Escpos, dots: int) -> None:
    """Give the printer object its paper width when its profile does not know one.

    python-escpos checks images against the profile's width, and prints a warning
    to stdout when the width is unknown. Profile data is shared by every printer of
    a profile, so this printer gets its own copy.
    """
    data = printer.profile.profile_data
    media = data.get("media") or {}
    if str((media.get("width") or {}).get("pixels", "Unknown")).isdigit():
        return
    printer.profile.profile_data = {**data, "media": {**media, "width": {"mm": "Unknown", "pixels": dots}}}


def preview_png(layout: Layout, path: str | os.PathLike, *, font: FontChoice | None = None) -> Path:
    """Save the ticket's raster image as a PNG (what raster mode prints) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    raster_image(layout, font=font).save(target, format="PNG")
    return target

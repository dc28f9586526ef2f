"""The printed ticket: wording, golden ESC/POS bytes in each Chinese mode, raster width.

The byte streams are read back with :func:`parse_escpos`, a small ESC/POS reader that
knows the commands a branchq ticket uses and refuses anything else, so that a change
in what reaches the printer is always a visible change here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from escpos.printer import Dummy
from PIL import Image

from kiosk.layout import (
    LANGUAGES,
    PAPER_DOTS,
    QR,
    Feed,
    Rule,
    Text,
    cell_width,
    find_cjk_font,
    preview_png,
    render,
    render_job,
    ticket_layout,
    wrap,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE_URL = "https://q.example-bank.cn/t/tGoY7NkLKF0nae7y0I23sA"
BRANCH = {"zh-CN": "演示支行", "en": "Demo Branch", "zh-TW": "演示分行"}
CASH = {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"}
RARE_FOOTER = "大堂经理 刘䶮 竭诚为您服务"
"""䶮 (U+4DAE, CJK Extension A) exists in GB18030 but not in GBK."""


def a_ticket(**changes):
    args = {
        "branch_names": BRANCH, "service_names": CASH, "number": "A023", "ahead": 3, "estimated_wait_s": 700,
        "issued_at": datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI), "phone_url": PHONE_URL,
        "footer": RARE_FOOTER, "language": "zh-CN", "paper_mm": 58,
    }
    return ticket_layout(**{**args, **changes})


# --- reading ESC/POS back ----------------------------------------------------------------------

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A
ESC_ONE_ARG = set(b"a!EtdM-G3J")
GS_ONE_ARG = set(b"!Bbhw")


@dataclass
class Line:
    text: str
    scale: int
    chinese: bool
    """Some of it came inside FS & … FS . (the printer's Chinese mode)."""


@dataclass
class Job:
    lines: list[Line] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    images: list[tuple[int, int]] = field(default_factory=list)
    """(width in dots, height) of each GS v 0 raster image."""
    commands: list[str] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def ends_with_cut(self) -> bool:
        return bool(self.commands) and self.commands[-1] == "GS V"


def parse_escpos(data: bytes, encoding: str = "gb18030") -> Job:
    """Text lines (Chinese sections decoded), QR payloads, raster images and commands of a job.

    Raises:
        AssertionError: a byte sequence that is not one of the commands a ticket uses.
    """
    job, i, scale = Job(), 0, 1
    text, chinese = bytearray(), False
    pieces: list[str] = []

    def flush_text(kanji: bool) -> None:
        if text:
            pieces.append(text.decode(encoding if kanji else "ascii"))
            text.clear()

    in_kanji = False
    while i < len(data):
        b = data[i]
        if b == LF:
            flush_text(in_kanji)
            job.lines.append(Line("".join(pieces), scale, chinese))
            pieces.clear()
            chinese = False
            i += 1
        elif b == FS:
            cmd = data[i + 1]
            if cmd == ord("&"):
                flush_text(False)
                in_kanji = chinese = True
                i += 2
            elif cmd == ord("."):
                flush_text(True)
                in_kanji = False
                i += 2
            else:
                raise AssertionError(f"unexpected FS {cmd:#x} at {i}")
        elif b == ESC:
            cmd = data[i + 1]
            if cmd == ord("@"):
                job.commands.append("ESC @")
                i += 2
            elif cmd in ESC_ONE_ARG:
                job.commands.append(f"ESC {chr(cmd)}")
                i += 3
            else:
                raise AssertionError(f"unexpected ESC {cmd:#x} at {i}")
        elif b == GS:
            cmd = data[i + 1]
            if cmd == ord("!"):
                scale = (data[i + 2] >> 4) + 1
                job.commands.append("GS !")
                i += 3
            elif cmd == ord("V"):
                job.commands.append("GS V")
                i += 4 if data[i + 2] in (65, 66) else 3
            elif cmd in GS_ONE_ARG:
                job.commands.append(f"GS {chr(cmd)}")
                i += 3
            elif cmd == ord("(") and data[i + 2] in b"kL":
                size = data[i + 3] + 256 * data[i + 4]
                body = data[i + 5 : i + 5 + size]
                if data[i + 2] == ord("k") and body[:3] == b"1P0":  # QR: store the data
                    job.qr.append(body[3:].decode("utf-8"))
                job.commands.append(f"GS ( {chr(data[i + 2])}")
                i += 5 + size
            elif cmd == ord("v") and data[i + 2] == ord("0"):
                width_bytes = data[i + 4] + 256 * data[i + 5]
                height = data[i + 6] + 256 * data[i + 7]
                job.images.append((width_bytes * 8, height))
                job.commands.append("GS v 0")
                i += 8 + width_bytes * height
            else:
                raise AssertionError(f"unexpected GS {cmd:#x} at {i}")
        elif b == DLE:
            raise AssertionError(f"real-time command in a print job at {i}")
        else:
            if b >= 0x80 and not in_kanji:
                raise AssertionError(f"byte {b:#x} outside FS & … FS . at {i}")
            text.append(b)
            i += 1
    flush_text(in_kanji)
    if pieces:
        job.lines.append(Line("".join(pieces), scale, chinese))
    return job


# --- golden bytes ---------------------------------------------------------------------------

GOLDEN_GB18030 = (
    b"\x1b@\x1bE\x01\x1ba\x01\x1c&\xd1\xdd\xca\xbe\xd6\xa7\xd0\xd0\x1c.\n"  # 演示支行 (bold)
    b"\x1bE\x00\x1ba\x01Demo Branch\n"
    b"\x1ba\x00--------------------------------\n"
    b"\x1d!\x11\x1bE\x01\x1ba\x01\x1c&\xcf\xd6\xbd\xf0\x1c.\n"  # 现金, double size
    b"\x1d!\x00\x1bE\x00\x1d!3\x1bE\x01\x1ba\x01A023\n"  # the number, 4× size
    b"\x1d!\x00\x1bE\x00\n"
    b"\x1ba\x01\x1c&\xc4\xfa\xc7\xb0\xc3\xe6\xbb\xb9\xd3\xd0 3 \xc8\xcb\xb5\xc8\xba\xf2\x1c.\n"
    b"\x1ba\x01\x1c&\xd4\xa4\xbc\xc6\xb5\xc8\xba\xf2\xd4\xbc 12 \xb7\xd6\xd6\xd3\x1c.\n"
    b"\x1ba\x01\x1c&\xc8\xa1\xba\xc5\xca\xb1\xbc\xe4 2026-03-02 09:30\x1c.\n"
    b"\n"
    b"\x1ba\x01\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x05\x1d(k\x03\x001E1"  # QR: model 2, 5 dots, M
    b"\x1d(k5\x001P0https://q.example-bank.cn/t/tGoY7NkLKF0nae7y0I23sA\x1d(k\x03\x001Q0\n"
    b"\x1ba\x01\x1c&\xc9\xa8\xc2\xeb\xb2\xe9\xbf\xb4\xc5\xc5\xb6\xd3\xbd\xf8\xb6\xc8\x1c.\n"
    b"\x1ba\x00--------------------------------\n"
    b"\x1ba\x01\x1c&\xb4\xf3\xcc\xc3\xbe\xad\xc0\xed \xc1\xf5\xfe\x9f "  # 大堂经理 刘䶮 …
    b"\xbd\xdf\xb3\xcf\xce\xaa\xc4\xfa\xb7\xfe\xce\xf1\x1c.\n"
    b"\x1ba\x00\x1bd\x06\x1dV\x00"  # feed 6 lines, full cut
)
GOLDEN = {
    "gb18030": GOLDEN_GB18030,
    # GBK has no 䶮: the printer gets a "?" there, and every other byte is the same.
    "gbk": GOLDEN_GB18030.replace(b"\xc1\xf5\xfe\x9f", b"\xc1\xf5?"),
}
EXPECTED_LINES = [
    "演示支行", "Demo Branch", "-" * 32, "现金", "A023", "", "您前面还有 3 人等候", "预计等候约 12 分钟",
    "取号时间 2026-03-02 09:30", "", "", "扫码查看排队进度", "-" * 32,
]


@pytest.mark.parametrize("mode", ["gbk", "gb18030"])
def test_chinese_mode_ticket_is_exactly_the_golden_bytes(mode):
    printer = Dummy()
    render(a_ticket(), printer, mode=mode)
    assert printer.output == GOLDEN[mode]


@pytest.mark.parametrize(("mode", "footer"), [("gb18030", RARE_FOOTER), ("gbk", "大堂经理 刘? 竭诚为您服务")])
def test_golden_ticket_reads_back_as_number_service_qr_and_cut(mode, footer):
    job = parse_escpos(GOLDEN[mode], mode)
    assert job.texts == [*EXPECTED_LINES, footer]
    assert job.lines[3] == Line("现金", scale=2, chinese=True)
    assert job.lines[4] == Line("A023", scale=4, chinese=False)
    assert job.qr == [PHONE_URL]
    assert job.commands[0] == "ESC @"
    assert job.ends_with_cut


# --- every language, paper and Chinese mode ------------------------------------------------------

SERVICE_LINE = {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"}
AHEAD_LINE = {"zh-CN": "您前面还有 3 人等候", "en": "3 people ahead of you", "zh-TW": "您前面還有 3 人等候"}


@pytest.mark.parametrize("mode", ["gbk", "gb18030"])
@pytest.mark.parametrize("paper", [58, 80])
@pytest.mark.parametrize("language", LANGUAGES)
def test_ticket_in_chinese_mode_carries_number_service_and_phone_url(mode, paper, language):
    data = render_job(a_ticket(language=language, paper_mm=paper, footer=None), mode=mode)
    job = parse_escpos(data, mode)
    assert "A023" in job.texts
    assert SERVICE_LINE[language] in job.texts
    assert AHEAD_LINE[language] in job.texts
    assert job.qr == [PHONE_URL]
    assert job.ends_with_cut
    chinese_lines = [line.text for line in job.lines if line.chinese]
    if language == "en":
        assert chinese_lines == [] and data.isascii()
    else:
        assert SERVICE_LINE[language] in chinese_lines


@pytest.mark.parametrize("paper", [58, 80])
def test_no_text_line_is_wider_than_the_paper(paper):
    long_footer = "本网点提供现金、转账汇款、开户、理财和对公业务，请您耐心等候叫号，如有疑问请咨询大堂经理。" * 2
    job = parse_escpos(render_job(a_ticket(paper_mm=paper, footer=long_footer), mode="gb18030"))
    columns = PAPER_DOTS[paper] // 12
    assert all(cell_width(line.text) * line.scale <= columns for line in job.lines)
    assert long_footer in "".join(job.texts)  # wrapped over several lines, nothing dropped


# --- raster ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cjk_font():
    font = find_cjk_font()
    if font is None:
        message = "no CJK font (install fonts-wqy-microhei or fonts-noto-cjk)"
        if IN_CI:
            pytest.fail(message + ": required under CI")
        pytest.skip(message)
    return font


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("paper", [58, 80])
def test_raster_ticket_is_one_image_no_wider_than_the_paper(cjk_font, paper, language):
    job = parse_escpos(render_job(a_ticket(paper_mm=paper, language=language), mode="raster", font=cjk_font))
    assert job.images, "no raster image"
    assert all(width <= PAPER_DOTS[paper] for width, _ in job.images)
    assert sum(height for _, height in job.images) > 300  # a whole ticket, not a stub
    assert not any(line.chinese for line in job.lines)
    assert job.ends_with_cut


def test_preview_png_is_the_raster_ticket_at_paper_width(cjk_font, tmp_path):
    path = preview_png(a_ticket(paper_mm=80), tmp_path / "ticket.png", font=cjk_font)
    with Image.open(path) as image:
        assert image.width == PAPER_DOTS[80]
        assert image.height > image.width  # a ticket is taller than wide
        # Ink, and mostly paper.
        histogram = image.convert("L").histogram()
        assert 0 < histogram[0] < 0.5 * image.width * image.height


# --- wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "ahead", "wait_s", "ahead_line", "wait_line"),
    [
        ("zh-CN", 0, 0, "您前面没有人等候", "即将为您叫号"),
        ("zh-CN", 3, 700, "您前面还有 3 人等候", "预计等候约 12 分钟"),
        ("zh-CN", 12, 3900, "您前面还有 12 人等候", "预计等候约 1 小时 5 分钟"),
        ("zh-TW", 3, 61, "您前面還有 3 人等候", "預計等候約 2 分鐘"),
        ("en", 0, 30, "No one ahead of you", "You will be called shortly"),
        ("en", 1, 600, "1 person ahead of you", "Estimated wait: about 10 min"),
        ("en", 7, 7200, "7 people ahead of you", "Estimated wait: about 2 h 0 min"),
        ("zh-CN", 0, None, "您前面没有人等候", "目前暂无窗口办理此业务，开放后按顺序叫号"),
        ("en", 2, None, "2 people ahead of you", "No counter is open for this service now; you keep your place"),
        ("zh-TW", 1, None, "您前面還有 1 人等候", "目前沒有櫃檯辦理此業務，開放後依序叫號"),
    ],
)
def test_people_ahead_and_estimate_are_worded_for_the_customer(language, ahead, wait_s, ahead_line, wait_line):
    texts = a_ticket(language=language, ahead=ahead, estimated_wait_s=wait_s).texts()
    assert ahead_line in texts
    assert wait_line in texts


def test_ticket_reads_top_to_bottom_branch_service_number_then_details_and_qr():
    layout = a_ticket(green_channel=True)
    kinds = [type(b).__name__ for b in layout.blocks]
    assert kinds[:6] == ["Text", "Text", "Rule", "Text", "Text", "Text"]
    assert layout.blocks[3] == Text("现金", scale=2, bold=True)
    assert layout.blocks[4] == Text("A023", scale=4, bold=True)
    assert layout.blocks[5] == Text("绿色通道", bold=True)
    assert QR(PHONE_URL) in layout.blocks and Feed() in layout.blocks and Rule() in layout.blocks
    assert layout.texts()[-1] == RARE_FOOTER


@pytest.mark.parametrize(("paper", "number", "scale"), [(58, "A023", 4), (80, "A023", 5), (58, "AB12345", 4),
                                                        (58, "AB123456", 4), (80, "AB123456789", 4)])
def test_big_number_shrinks_only_to_stay_on_one_line(paper, number, scale):
    block = a_ticket(paper_mm=paper, number=number).blocks[4]
    assert block == Text(number, scale=scale, bold=True)
    assert len(number) * 12 * block.scale <= PAPER_DOTS[paper]


def test_english_ticket_has_no_second_branch_name_and_issue_time_as_given():
    layout = a_ticket(language="en", issued_at=datetime(2026, 3, 2, 17, 5, tzinfo=SHANGHAI))
    assert layout.texts()[0] == "Demo Branch" and "演示支行" not in layout.texts()
    assert "Issued 2026-03-02 17:05" in layout.texts()


def test_a_missing_translation_falls_back_to_simplified_chinese():
    layout = a_ticket(language="zh-TW", service_names={"zh-CN": "现金", "en": "Cash"})
    assert "现金" in layout.texts()


@pytest.mark.parametrize("bad", [{"language": "fr"}, {"paper_mm": 76}])
def test_unknown_language_or_paper_is_refused(bad):
    with pytest.raises(ValueError):
        a_ticket(**bad)


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("Scan to follow your place in the queue", 16, ["Scan to follow", "your place in", "the queue"]),
        ("请留意叫号及屏幕显示谢谢", 8, ["请留意叫", "号及屏幕", "显示谢谢"]),
        ("您前面还有 12 人等候", 12, ["您前面还有", "12 人等候"]),
        ("Supercalifragilistic", 8, ["Supercal", "ifragili", "stic"]),
        ("", 8, [""]),
    ],
)
def test_wrap_breaks_english_at_spaces_and_chinese_anywhere(text, width, lines):
    assert wrap(text, lambda s: cell_width(s) <= width) == lines

"""Draft the zh-TW words of every page from their zh-CN ones, and say where the table differs.

    .venv/bin/python scripts/zh_tw.py          # keys whose zh-TW is not the reviewed draft
    .venv/bin/python scripts/zh_tw.py --all    # the whole drafted zh-TW block, to paste

The pages' one table of words is ``server/static/common/i18n.js``. Its zh-TW block is
OpenCC's ``s2twp`` (Simplified → Taiwan, with Taiwanese phrases: 印表機, 網路, 螢幕, 連線)
of the zh-CN block, with the corrections in :data:`REVIEWED`, where s2twp picks the word of
another field (a GUI window, not a bank's counter). ``tests/browser/test_languages.py``
holds the table to exactly this draft, so a new zh-CN word gets its zh-TW by running this.
Reading the module needs Node.js (``node``); the draft itself needs only ``opencc``.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
I18N = ROOT / "server" / "static" / "common" / "i18n.js"

#: s2twp's word → the word a Taiwanese or Hong Kong bank uses, each reviewed by hand.
REVIEWED: dict[str, str] = {
    "視窗": "櫃檯",  # 窗口 is a service counter here, never a window on a screen
    "服務檯": "服務台",
    "網點": "分行",  # a bank's branch
    "賬": "帳",  # 帳戶, 帳號: Taiwan's usual form
    "許可權": "權限",  # 权限 is a permission, not a "licence right"
    "程式碼": "代碼",  # an enrollment code, not program code
    "老年人": "長者",  # the polite word on a bank's green channel
}

#: Whole entries whose zh-CN word has another usual zh-TW word altogether.
REVIEWED_KEYS: dict[str, str] = {
    "common.signout": "登出",  # 退出 (leave) is the mainland's sign-out
}


@functools.cache
def _s2twp() -> Any:
    """OpenCC's converter, made once: loading its dictionaries takes a tenth of a second."""
    import opencc

    return opencc.OpenCC("s2twp")


@functools.cache
def draft(text: str, key: str | None = None) -> str:
    """The reviewed zh-TW of a zh-CN text (of the table's entry ``key``)."""
    if key in REVIEWED_KEYS:
        return REVIEWED_KEYS[key]

    out = _s2twp().convert(text)
    for word, better in REVIEWED.items():
        out = out.replace(word, better)
    return out


def strings_from_node() -> dict[str, dict[str, str]]:
    """``STRINGS`` of i18n.js, read by Node.js (the module has no browser dependencies)."""
    script = f"import({json.dumps(I18N.as_uri())}).then((m) => console.log(JSON.stringify(m.STRINGS)))"
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def differences(strings: dict[str, dict[str, str]]) -> dict[str, tuple[str | None, str]]:
    """key → (its zh-TW now, the draft), for every key whose zh-TW is not the draft."""
    tw = strings["zh-TW"]
    return {k: (tw.get(k), draft(v, k)) for k, v in strings["zh-CN"].items() if tw.get(k) != draft(v, k)}


def _js(text: str) -> str:
    """A single-quoted JavaScript string, as i18n.js writes them."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def main(argv: list[str]) -> int:
    strings = strings_from_node()
    if "--all" in argv:
        for key, text in strings["zh-CN"].items():
            print(f"    {_js(key)}: {_js(draft(text, key))},")
        return 0
    diff = differences(strings)
    for key, (now, wanted) in diff.items():
        print(f"{key}: {now!r} → {wanted!r}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

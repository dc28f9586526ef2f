"""The layers depend one way only, the domain stays pure, and the devices take only the wire
protocol from the server.

Imports are read with :mod:`ast`, never executed; relative imports are resolved against the
file's own package (``from ..web import hub`` in ``server/services/x.py`` is ``server.web.hub``),
and imports inside functions and ``if TYPE_CHECKING:`` count like any other. ``from a import b``
is recorded as ``a.b``: ``b`` may be a module or a name, and either way it comes from ``a``.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What a pure module never touches.
IO_LIBRARIES = ("sqlalchemy", "aiohttp", "websockets", "escpos", "asyncio", "asyncpg", "aiosqlite")
#: The libraries that only the ``server`` extra brings (distribution: import name); a kiosk or
#: counter PC does not install them. tests/unit/test_packaging.py checks this against pyproject.toml.
SERVER_ONLY = {
    "sqlalchemy": "sqlalchemy",
    "asyncpg": "asyncpg",
    "aiosqlite": "aiosqlite",
    "alembic": "alembic",
    "argon2-cffi": "argon2",
    "cryptography": "cryptography",
    "aiohttp-session": "aiohttp_session",
    "pydantic-settings": "pydantic_settings",
    "xlsxwriter": "xlsxwriter",
    "pygal": "pygal",
    "limits": "limits",
    "segno": "segno",
    "pypinyin": "pypinyin",
    "pyyaml": "yaml",
    "uvloop": "uvloop",
    "aiosmtplib": "aiosmtplib",
    "fpdf2": "fpdf",
}
#: What the kiosk agent and the teller's terminal never import: the server's libraries, and the
#: server half of aiohttp (they use its client).
NOT_FOR_DEVICES = (*SERVER_ONLY.values(), "aiohttp.web")
#: What the wire models and the websocket client may not use: the server's layers and libraries,
#: and aiohttp altogether (they live on the core dependencies: pydantic, websockets, orjson).
NOT_FOR_THE_PROTOCOL = (
    "server.store", "server.services", "server.web", "server.bus", "server.reports",
    *SERVER_ONLY.values(), "aiohttp",
)


@dataclass(frozen=True, slots=True)
class Imported:
    """One imported name, absolute, and where it is imported."""

    file: str
    line: int
    name: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.name}"


@dataclass(frozen=True, slots=True)
class Rule:
    """Files matching ``files`` (but not ``exclude``) import nothing under ``forbid`` except ``allow``."""

    files: tuple[str, ...]
    forbid: tuple[str, ...]
    allow: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def paths(self) -> list[Path]:
        excluded = {p for pattern in self.exclude for p in ROOT.glob(pattern)}
        found = {p for pattern in self.files for p in ROOT.glob(pattern)} - excluded
        return sorted(found)

    def breaks(self, name: str) -> bool:
        return within(name, self.forbid) and not within(name, self.allow)


RULES = {
    # The domain takes the time as an argument and imports nothing of the server but itself.
    "domain is pure": Rule(
        files=("server/domain/**/*.py",),
        forbid=(*IO_LIBRARIES, "server"),
        allow=("server.domain",),
    ),
    "store is below services, web, bus and reports": Rule(
        files=("server/store/**/*.py",),
        forbid=("server.services", "server.web", "server.bus", "server.reports", "aiohttp"),
    ),
    "services are below web": Rule(
        files=("server/services/**/*.py",),
        forbid=("server.web", "aiohttp"),
    ),
    "reports are below web": Rule(
        files=("server/reports/**/*.py",),
        forbid=("server.web", "aiohttp"),
    ),
    "bus is below services and web": Rule(
        files=("server/bus/**/*.py",),
        forbid=("server.services", "server.web"),
    ),
    "protocol and client live on the core dependencies": Rule(
        files=("server/protocol.py", "server/client.py"),
        forbid=NOT_FOR_THE_PROTOCOL,
    ),
    # A device program takes from the server only what it shares with it on the wire.
    "devices use only the protocol and the client": Rule(
        files=("kiosk/**/*.py", "counter/**/*.py", "display/**/*.py"),
        forbid=("server",),
        allow=("server.protocol", "server.client"),
    ),
    "kiosk and counter need none of the server's libraries": Rule(
        files=("kiosk/**/*.py", "counter/**/*.py"),
        forbid=NOT_FOR_DEVICES,
    ),
    # The server serves the devices' static files but runs none of their code; the
    # announcement text is one pure module both use. The CLI starts the device programs.
    "server runs no device code but the phrases": Rule(
        files=("server/**/*.py",),
        exclude=("server/__main__.py",),
        forbid=("kiosk", "counter", "display"),
        allow=("display.phrases",),
    ),
}

#: Files under server/services and server/web that still run SQL themselves (relative paths).
#: The SQL moves into server/store; remove each file here once it no longer does.
KNOWN_SQL_IN_SERVICES: frozenset[str] = frozenset()

#: Connection methods that run a statement (``text(...)`` calls are looked for too).
SQL_CALLS = frozenset({"execute", "exec_driver_sql"})


def within(name: str, prefixes: Iterable[str]) -> bool:
    """``name`` is one of ``prefixes`` or inside one (``sqlalchemy.ext`` is within ``sqlalchemy``)."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_of(path: Path) -> tuple[str, bool]:
    """The dotted module name of a file under ROOT, and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imports_in(tree: ast.AST, module: str, *, is_package: bool, file: str) -> Iterator[Imported]:
    """Every name ``tree`` (the source of ``module``) imports, as an absolute dotted name."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Imported(file, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                yield Imported(file, node.lineno, base if alias.name == "*" else f"{base}.{alias.name}")


def parse(path: Path) -> tuple[ast.AST, str]:
    return ast.parse(path.read_text(), filename=str(path)), str(path.relative_to(ROOT))


def imports_of(path: Path) -> list[Imported]:
    tree, file = parse(path)
    module, is_package = module_of(path)
    return list(imports_in(tree, module, is_package=is_package, file=file))


def sql_in(path: Path) -> list[str]:
    """What in ``path`` runs SQL: sqlalchemy imports, ``.execute(`` and ``text(`` calls."""
    tree, file = parse(path)
    found = [str(i) for i in imports_of(path) if within(i.name, ("sqlalchemy",))]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SQL_CALLS:
            found.append(f"{file}:{node.lineno} calls .{func.attr}(")
        elif isinstance(func, ast.Name) and func.id == "text":
            found.append(f"{file}:{node.lineno} calls text(")
    return found


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("from .x import y", "server.services.tickets", False, ["server.services.x.y"]),
        ("from ..web import hub", "server.services.tickets", False, ["server.web.hub"]),
        ("from . import repository", "server.store.engine", False, ["server.store.repository"]),
        ("from . import repository", "server.store", True, ["server.store.repository"]),
        ("from .. import protocol", "server.store", True, ["server.protocol"]),
        ("import sqlalchemy.ext.asyncio", "server.domain.model", False, ["sqlalchemy.ext.asyncio"]),
        ("from sqlalchemy import text, select", "x.y", False, ["sqlalchemy.text", "sqlalchemy.select"]),
        ("from .model import *", "server.domain.policy", False, ["server.domain.model"]),
        ("def f():\n    from ..store import tables", "server.web.routes", False, ["server.store.tables"]),
    ],
)
def test_imports_are_read_as_absolute_names(source, module, is_package, expected):
    found = imports_in(ast.parse(source), module, is_package=is_package, file="x.py")
    assert [i.name for i in found] == expected


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_layer_imports_nothing_it_may_not(rule: Rule):
    paths = rule.paths()
    assert paths, f"no file matches {rule.files}"
    offenders = [str(i) for path in paths for i in imports_of(path) if rule.breaks(i.name)]
    assert not offenders, "\n".join(offenders)


def test_services_and_web_run_no_sql():
    paths = sorted((ROOT / "server" / "services").rglob("*.py")) + sorted((ROOT / "server" / "web").rglob("*.py"))
    found = {str(p.relative_to(ROOT)): sql_in(p) for p in paths}
    offending = {file for file, what in found.items() if what}
    new = sorted(offending - KNOWN_SQL_IN_SERVICES)
    cleaned = sorted(KNOWN_SQL_IN_SERVICES - offending)
    problems = [line for file in new for line in found[file]]
    problems += [f"{file} runs no SQL any more: remove it from KNOWN_SQL_IN_SERVICES" for file in cleaned]
    assert not problems, "\n".join(problems)

"""The domain stays pure: no I/O libraries, and the layers depend one way only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "server"

FORBIDDEN = {
    "domain": {"sqlalchemy", "aiohttp", "websockets", "escpos", "asyncio", "asyncpg", "aiosqlite",
               "server.store", "server.services", "server.web", "server.bus"},
    "store": {"aiohttp", "server.services", "server.web"},
    "services": {"aiohttp", "server.web"},
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_from_the_layers_above_or_io_libraries(layer):
    offenders = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)

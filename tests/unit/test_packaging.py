"""A kiosk or counter PC installs only what it runs: ``pip install 'branchq[kiosk]'``.

The extras in pyproject.toml say what each part needs; these tests hold the code to them:
the device programs import without the server's libraries, and every library a part imports
is one its extra (or the core dependencies) brings.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions
from importlib.metadata import requires as requires_of
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.unit.test_layering import ROOT, SERVER_ONLY, imports_of

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

DEVICE_MODULES = ("kiosk.agent", "kiosk.printer", "kiosk.layout", "counter.cli", "display.phrases")

#: Run in a fresh interpreter, where a meta-path finder stands for a PC without the server extra.
WITHOUT_THE_SERVER = textwrap.dedent(
    """
    import importlib, sys

    refused, modules = {refused!r}, {modules!r}
    early = sorted(m for m in sys.modules if m.partition(".")[0] in refused)
    assert not early, f"imported before the test began: {{early}}"

    class NotInstalled:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.partition(".")[0] in refused:
                raise ModuleNotFoundError(f"No module named {{name!r}} (not installed here)", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled)
    for module in modules:
        importlib.import_module(module)
    """
)


def requirements(extra: str | None) -> dict[str, Requirement]:
    """The requirements of ``extra`` (None: the core dependencies), by canonical name."""
    project = PYPROJECT["project"]
    listed = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {canonicalize_name(r.name): r for r in map(Requirement, listed)}


def installed_with(wanted: dict[str, Requirement]) -> set[str]:
    """The canonical names of ``wanted`` and of everything they need in turn, as installed here."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset(r.extras)) for name, r in wanted.items()]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            needs = requires_of(name) or []
        except PackageNotFoundError:  # e.g. uvloop off Linux: nothing of it is installed
            continue
        for req in map(Requirement, needs):
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return {name for name, _ in seen}


def third_party_imports(paths: list[Path]) -> dict[str, list[str]]:
    """Top-level names of the libraries ``paths`` import, each with where it is imported."""
    first_party = {"server", "kiosk", "counter", "display"}
    found: dict[str, list[str]] = {}
    for path in paths:
        for imported in imports_of(path):
            top = imported.name.partition(".")[0]
            if top not in first_party and top not in sys.stdlib_module_names:
                found.setdefault(top, []).append(str(imported))
    return found


def test_device_programs_import_without_the_server_libraries():
    # What the kiosk's own libraries bring along is there on a kiosk PC too (python-escpos needs PyYAML).
    on_a_device = installed_with(requirements(None) | requirements("kiosk") | requirements("counter"))
    refused = sorted(module for name, module in SERVER_ONLY.items() if name not in on_a_device)
    assert {"sqlalchemy", "asyncpg", "aiosqlite", "alembic", "argon2", "aiohttp_session"} <= set(refused)
    script = WITHOUT_THE_SERVER.format(refused=refused, modules=DEVICE_MODULES)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"importing {', '.join(DEVICE_MODULES)} without {', '.join(refused)}:\n{run.stderr}"


def test_server_only_lists_every_library_that_only_the_server_extra_brings():
    devices = requirements(None) | requirements("kiosk") | requirements("counter")
    server_only = sorted(set(requirements("server")) - set(devices))
    assert server_only == sorted(SERVER_ONLY)


def test_kiosk_extra_brings_no_database_and_the_server_extra_no_printer_driver():
    kiosk, server = requirements("kiosk"), requirements("server")
    assert not {"asyncpg", "sqlalchemy", "aiosqlite", "alembic"} & set(kiosk)
    assert "python-escpos" not in server
    assert not set(SERVER_ONLY) & (set(requirements(None)) | set(requirements("counter")))


def test_dev_extra_installs_every_part():
    dev = map(Requirement, PYPROJECT["project"]["optional-dependencies"]["dev"])
    branchq = [r for r in dev if r.name == "branchq"]
    assert [sorted(r.extras) for r in branchq] == [["counter", "kiosk", "server"]]


@pytest.mark.parametrize(
    ("files", "extra"),
    [
        (("kiosk/**/*.py",), "kiosk"),
        (("counter/**/*.py",), "counter"),
        (("server/protocol.py", "server/client.py", "server/domain/**/*.py"), None),
    ],
    ids=["kiosk", "counter", "protocol"],
)
def test_each_part_imports_only_libraries_its_extra_brings(files, extra):
    paths = sorted({p for pattern in files for p in ROOT.glob(pattern)})
    declared = set(requirements(None)) | (set(requirements(extra)) if extra else set())
    owners = packages_distributions()
    missing = [
        f"{where} (from {', '.join(owners.get(top, ['an unknown distribution']))})"
        for top, places in sorted(third_party_imports(paths).items())
        if not {canonicalize_name(d) for d in owners.get(top, [top])} & declared
        for where in places
    ]
    assert not missing, f"not in {extra or 'the core'} dependencies:\n" + "\n".join(missing)

"""The layers' import rules (STYLE G2, G16), checked on the source rather than promised.

``analysis`` is pure: it imports nothing that reads, writes or serves, and nothing of ``geo`` or
``api``. The data layer (``geo``) never imports the planning layer, the command line or the web
app (all in ``api``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each layer may not import (dotted prefixes).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "analysis": (
        "gomrac.geo",
        "gomrac.api",
        "sqlalchemy",
        "geoalchemy2",
        "alembic",
        "fastapi",
        "starlette",
        "folium",
        "requests",
        "httpx",
        "osmnx",
        "pyogrio",
        "fiona",
        "urllib.request",
    ),
    "geo": ("gomrac.api", "fastapi", "starlette", "folium"),
}


def imported_modules(source: str, module: str) -> set[str]:
    """Return every module `source` imports, relative imports resolved against `module`."""
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(layer: str, root: Path = ROOT) -> list[str]:
    """List ``file: module`` for each forbidden import in one layer's folder."""
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        module = "gomrac." + ".".join(path.relative_to(root).with_suffix("").parts)
        for name in sorted(imported_modules(path.read_text(encoding="utf-8"), module)):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                found.append(f"{path.relative_to(root)}: {name}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_follow_the_rules(layer: str) -> None:
    """No module of `layer` imports what its layer may not depend on."""
    assert violations(layer) == []


def test_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    """A forbidden import added to a copy of analysis/ is reported, relative or absolute."""
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "pure.py").write_text("import numpy as np\n", encoding="utf-8")
    (tmp_path / "analysis" / "leaky.py").write_text(
        "from gomrac.geo.network import networks_for\nfrom ..api import cli\nimport folium\n",
        encoding="utf-8",
    )
    assert violations("analysis", tmp_path) == [
        "analysis/leaky.py: folium",
        "analysis/leaky.py: gomrac.api",
        "analysis/leaky.py: gomrac.api.cli",
        "analysis/leaky.py: gomrac.geo.network",
        "analysis/leaky.py: gomrac.geo.network.networks_for",
    ]


def test_public_api_names_resolve() -> None:
    """Every name in ``gomrac.__all__`` is importable and is what its module defines."""
    import importlib

    import gomrac

    for name in gomrac.__all__:
        assert getattr(gomrac, name) is getattr(
            importlib.import_module(gomrac._EXPORTS[name]), name
        )


@pytest.mark.slow
def test_wheel_installs_one_package(tmp_path: Path) -> None:
    """The wheel holds `gomrac` (with its migrations and data files) and no other top-level name."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("gomrac-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"gomrac", next(t for t in top if t.endswith(".dist-info"))}
    assert "gomrac/__init__.py" in names and "gomrac/py.typed" in names
    assert "gomrac/geo/migrations/versions/0001_initial_schema.py" in names
    assert not [n for n in names if n.startswith(("gomrac/tests/", "gomrac/bench/"))]

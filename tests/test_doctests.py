"""The ``>>>`` examples of every docstring in the package run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gomrac

#: Modules that run code on import by design (Alembic's environment script).
NOT_IMPORTABLE = ("gomrac.geo.migrations",)


def package_modules() -> list[str]:
    """Every module of gomrac.analysis, gomrac.geo and gomrac.api, by dotted name."""
    names = ["gomrac"]
    for sub in ("analysis", "geo", "api"):
        package = importlib.import_module(f"gomrac.{sub}")
        names.append(package.__name__)
        names += [
            info.name
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
            if not info.name.startswith(NOT_IMPORTABLE)
        ]
    return sorted(names)


@pytest.mark.parametrize("name", package_modules())
def test_docstring_examples(name: str) -> None:
    """Every example in the module's docstrings gives the output it shows."""
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_examples_exist() -> None:
    """The package does have examples to run (a collection that found none would pass vacuously)."""
    attempted = 0
    finder = doctest.DocTestFinder()
    for name in package_modules():
        for test in finder.find(importlib.import_module(name)):
            attempted += sum(1 for ex in test.examples if not ex.options.get(doctest.SKIP))
    assert attempted >= 8
    assert gomrac.__version__

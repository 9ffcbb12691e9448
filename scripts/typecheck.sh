#!/usr/bin/env bash
# Type-check the package with mypy's strict flags (pyproject's [tool.mypy]). The checkout is the
# package `gomrac` (pyproject's package-dir), so mypy is shown it under that name through a link.
set -euo pipefail
cd "$(dirname "$0")/.."
top="$(mktemp -d)"
trap 'rm -rf "$top"' EXIT
ln -s "$PWD" "$top/gomrac"
MYPYPATH="$top" python3 -m mypy "$@"

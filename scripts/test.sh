#!/usr/bin/env bash
# Lint and type-check the packages, then run the whole test suite on SpatiaLite and on a real PostGIS
# server started here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GOMRAC_TEST_POSTGIS_URL="$(bash scripts/postgis.sh start)"
trap 'bash scripts/postgis.sh stop >/dev/null 2>&1 || true' EXIT
export GOMRAC_OFFLINE=1
python3 -m ruff check .  # lint
python3 -m ruff format --check .  # layout
bash scripts/typecheck.sh  # the package's types (pyproject's [tool.mypy]: strict flags)
python3 -m pytest -n 2 --dist loadfile -q -p no:cacheprovider --require-all-dialects "$@"

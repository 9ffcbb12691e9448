#!/usr/bin/env bash
# Plan a ward end to end and write the interactive map (default: Lê Chân). Without road data for
# the ward and no connection, the same plan runs on the Hanoi sample area, labelled as such.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WARD="${1:-Lê Chân}"
OUT="${2:-out/$(python3 -c "import sys; from gomrac.geo.wards import slugify; print(slugify(sys.argv[1]))" "$WARD")}"
gomrac plan "$WARD" --sample-if-missing --out "$OUT"

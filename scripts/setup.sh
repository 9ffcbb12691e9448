#!/usr/bin/env bash
# Install what gomrac needs on a fresh Debian/Ubuntu machine: system packages, then the package.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
missing=()
for p in libsqlite3-mod-spatialite osmium-tool; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# PostgreSQL with PostGIS (the production backend, and the second backend of the tests)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing+=(postgresql-postgis)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PY="${PYTHON:-python3}"
"$PY" -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
  | grep -v "Running pip as the 'root' user" || true
"$PY" -c "import gomrac.geo, gomrac.analysis, gomrac.api, pyvrp, osmnx, highspy"

#!/usr/bin/env bash
# Install what gomrac needs on a fresh Debian/Ubuntu machine: system packages, then the package.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
missing=()
# chromium + chromium-driver: the browser of the end-to-end tests
for p in libsqlite3-mod-spatialite osmium-tool chromium chromium-driver; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# npm fetches Leaflet below; a machine with Node.js from elsewhere already has it
command -v npm >/dev/null 2>&1 || missing+=(npm)
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
# Leaflet for the web pages, from the npm registry, checked against its published checksum
# (served by the app itself: the pages load nothing from another host)
LEAFLET_VERSION=1.9.4
LEAFLET_SHA256=84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77
vendor=api/static/vendor/leaflet
if [ ! -f "$vendor/leaflet.js" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "leaflet@$LEAFLET_VERSION" >/dev/null)
  echo "$LEAFLET_SHA256  $tmp/leaflet-$LEAFLET_VERSION.tgz" | sha256sum -c --quiet
  tar -xzf "$tmp/leaflet-$LEAFLET_VERSION.tgz" -C "$tmp"
  mkdir -p "$vendor"
  cp -r "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" \
    "$tmp/package/dist/images" "$tmp/package/LICENSE" "$vendor/"
  rm -rf "$tmp"
fi
"$PY" -c "import gomrac.geo, gomrac.analysis, gomrac.api, pyvrp, osmnx, highspy"

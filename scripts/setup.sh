#!/usr/bin/env bash
# Install what gomrac needs on a fresh Debian/Ubuntu machine: system packages, then the package.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
missing=()
# chromium + chromium-driver: the browser of the end-to-end tests
# pango + DejaVu fonts (Vietnamese glyphs): WeasyPrint's PDF of the scorecard report;
# poppler-utils (pdftotext): reading that PDF back
for p in libsqlite3-mod-spatialite osmium-tool chromium chromium-driver \
  libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils; do
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
# Leaflet plugins, fetched and checked the same way, each into api/static/vendor/<name>:
# Leaflet.VectorGrid draws the map page's vector tiles; Leaflet.markercluster, Leaflet.heat and
# jQuery (folium's pop-ups) are what the plan's map.html needs (api/maps.py copies them beside it).
vendor_npm() {  # name version sha256 then the package's files to keep
  local name="$1" version="$2" sum="$3"
  shift 3
  local dest="api/static/vendor/$name" stamp="api/static/vendor/$name/.npm-$version"
  [ -f "$stamp" ] && return 0
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
  echo "$sum  $tmp/$name-$version.tgz" | sha256sum -c --quiet
  tar -xzf "$tmp/$name-$version.tgz" -C "$tmp"
  rm -rf "$dest"
  mkdir -p "$dest"
  for f in "$@"; do cp "$tmp/package/$f" "$dest/"; done
  touch "$stamp"
  rm -rf "$tmp"
}
vendor_npm leaflet.vectorgrid 1.3.0 \
  4eaf00b9c3c80e53d59a84a9d3523f1b9ae3149e709db6fa293e9c292739ed7e \
  dist/Leaflet.VectorGrid.bundled.min.js package.json
vendor_npm leaflet.markercluster 1.5.3 \
  fc6b0b1d00b6c708ae54e43ee4a11ac345e41660e19f0a570190bb35babb1a1c \
  dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css \
  MIT-LICENCE.txt
vendor_npm leaflet.heat 0.2.0 \
  6d980bce16b6bbe8e3b124d200dfd12964ff8f6bfff44eb3a47344f97dfc5c7f \
  dist/leaflet-heat.js LICENSE
vendor_npm jquery 3.7.1 \
  68a9f787516da47c680e09c187bcbac4536b6f85d90eb882844e12919e583f53 \
  dist/jquery.min.js LICENSE.txt
"$PY" -c "import gomrac.geo, gomrac.analysis, gomrac.api, pyvrp, osmnx, highspy"

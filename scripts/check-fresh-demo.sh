#!/bin/sh
# A fresh clone with an empty data folder, the official sources served on loopback from the
# shared data: `make demo` must fetch Rutland, build it and leave a hub that serves.
#   scripts/check-fresh-demo.sh [SHARED_DATA_DIR]
set -eu
shared=${1:-${PLACEHUB_DATA_DIR:-../shared/data}}
shared=$(cd "$shared" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $server $hub 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
server= hub=

git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
make setup >"$work/setup.log" 2>&1 || { tail -20 "$work/setup.log"; exit 1; }

# The stand-in sources (the test server), printing the settings that point at them.
.venv/bin/python -m tests.area.official "$shared" "$work/official" >"$work/sources.env" &
server=$!
while ! grep -q AREA_DEFRA_URL "$work/sources.env" 2>/dev/null; do sleep 1; done
. "$work/sources.env"

mkdir "$work/data"
export PLACEHUB_DATA_DIR="$work/data" PLACEHUB_DATABASE_URL="sqlite:///$work/demo.sqlite3"
make demo DEMO_ARGS="--build-only --assets-per-type 5 --history-days 3"
test -f "$work/data/rutland/roads.osm.pbf" && test -f "$work/data/ATTRIBUTION.md"

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/placehub serve --port "$port" >"$work/serve.log" 2>&1 &
hub=$!
for _ in $(seq 60); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
for path in /healthz /api/places/wards /api/about-data "/sta/v1.1/Things?\$count=true" /; do
    curl -fs "http://127.0.0.1:$port$path" >/dev/null || { echo "FAILED: GET $path"; exit 1; }
done
echo "fresh clone: make demo fetched Rutland, built it, and the hub answers on port $port"

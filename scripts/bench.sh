#!/usr/bin/env bash
# Times our skopeo against the reference /usr/bin/skopeo in the same run: interleaved runs,
# median wall time, the ratio, and peak RSS. Usage: scripts/bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
cargo build --release -q -p skopeo-native
ours=${CARGO_TARGET_DIR:-target}/release/skopeo
ref=/usr/bin/skopeo
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
examples/build-example.sh "$tmp/layout" >/dev/null
cp "$tmp/layout/blobs/sha256/$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$tmp/layout/index.json")" "$tmp/manifest.json"

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

bench() {
  local label=$1; shift
  : > "$tmp/a"; : > "$tmp/b"
  for _ in $(seq "$runs"); do
    ms "$ours" "$@" >> "$tmp/a"; ms "$ref" "$@" >> "$tmp/b"
  done
  local a b ra rb
  a=$(median < "$tmp/a"); b=$(median < "$tmp/b")
  ra=$(rss "$ours" "$@"); rb=$(rss "$ref" "$@")
  printf '%-28s ours %7.2f ms  skopeo %7.2f ms  ratio %.2f   RSS ours %6d KB  skopeo %6d KB  ratio %.2f\n' \
    "$label" "$(echo "$a/1000" | bc -l)" "$(echo "$b/1000" | bc -l)" "$(echo "$a/$b" | bc -l)" "$ra" "$rb" "$(echo "$ra/$rb" | bc -l)"
}

bench "manifest-digest" manifest-digest "$tmp/manifest.json"
bench "inspect oci:" inspect "oci:$tmp/layout:demo"
bench "inspect --raw oci:" inspect --raw "oci:$tmp/layout:demo"
bench "inspect --config oci:" inspect --config "oci:$tmp/layout:demo"

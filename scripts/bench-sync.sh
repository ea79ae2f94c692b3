#!/usr/bin/env bash
# Times `sync` against the reference /usr/bin/skopeo in the same run, on loopback
# docker-registries: a repository of N tags sharing their layers (registry to registry, then
# the same sync again with nothing changed), and a YAML file of several repositories to
# dir:. Medians of RUNS runs (fresh destinations for first syncs), peak RSS from /usr/bin/time.
# Usage: scripts/bench-sync.sh [RUNS] [TAGS...]   (defaults: 3 runs; 50 and 500 tags)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; shift || true
tag_counts=("${@:-50 500}")
[ $# -gt 0 ] || tag_counts=(50 500)
cargo build --release -q -p skopeo-native
ours=${CARGO_TARGET_DIR:-target}/release/skopeo
ref=/usr/bin/skopeo
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=$tmp/cache
examples/build-example.sh "$tmp/layout" >/dev/null
. scripts/registry.sh
start_registry "$tmp/src"; src=$addr
start_registry "$tmp/dst"; dst=$addr
mdigest=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$tmp/layout/index.json")

# Wall time (ms) and peak RSS (KB) of one run: "MS KB".
timed() {
  local start end rss
  start=$(date +%s%N)
  rss=$( { /usr/bin/time -f %M "$@" >/dev/null 2>"$tmp/err.log"; } 2>&1; tail -1 "$tmp/err.log")
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 )) $(tail -1 "$tmp/err.log")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
row() { # label ours-times theirs-times ours-rss theirs-rss
  local mo mt
  mo=$(tr ' ' '\n' <<<"$2" | median); mt=$(tr ' ' '\n' <<<"$3" | median)
  awk -v l="$1" -v a="$mo" -v b="$mt" -v ra="$4" -v rb="$5" \
    'BEGIN {printf "%-40s ours %8d ms  skopeo %8d ms  ratio %.2f   RSS ours %7d KB  skopeo %7d KB  ratio %.2f\n", l, a, b, a/b, ra, rb, ra/rb}'
}
bench_pair() { # label command-prefix-args... (SOURCE and a DEST made per run by dest_for)
  local label=$1; shift
  local to=() tt=() ro=0 rt=0 r
  for i in $(seq "$runs"); do
    for who in ours ref; do
      local bin=$ours; [ $who = ref ] && bin=$ref
      r=$(timed "$bin" --insecure-policy sync "$@" "$(dest_for "$who" "$i")")
      if [ $who = ours ]; then to+=("${r% *}"); ro=${r#* }; else tt+=("${r% *}"); rt=${r#* }; fi
    done
  done
  row "$label" "${to[*]}" "${tt[*]}" "$ro" "$rt"
}

for n in "${tag_counts[@]}"; do
  "$ref" --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/layout:demo" "docker://$src/bench/r$n:latest"
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$tmp/layout/blobs/sha256/$mdigest" "http://$src/v2/bench/r$n/manifests/t[1-$((n - 1))]"
  dest_for() { echo "$dst/first-$1-$2-$n"; }
  bench_pair "sync $n tags registry->registry" --src docker --dest docker \
    --src-tls-verify=false --dest-tls-verify=false "$src/bench/r$n"
  dest_for() { echo "$dst/first-$1-1-$n"; }
  bench_pair "re-sync $n tags, nothing changed" --src docker --dest docker \
    --src-tls-verify=false --dest-tls-verify=false "$src/bench/r$n"
done

# A YAML file of 6 repositories of 10 tags each, to dir:.
repos=""
for r in $(seq 6); do
  "$ref" --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/layout:demo" "docker://$src/yaml/r$r:latest"
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$tmp/layout/blobs/sha256/$mdigest" "http://$src/v2/yaml/r$r/manifests/t[1-9]"
  repos+="    yaml/r$r: []"$'\n'
done
printf '%s:\n  tls-verify: false\n  images:\n%s' "$src" "$repos" > "$tmp/sync.yaml"
dest_for() { echo "$tmp/dir-$1-$2"; }
bench_pair "sync YAML (6 repos x 10 tags) -> dir:" --src yaml --dest dir "$tmp/sync.yaml"

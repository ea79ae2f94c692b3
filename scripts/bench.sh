#!/usr/bin/env bash
# Times our skopeo against the reference /usr/bin/skopeo in the same run: interleaved runs,
# median wall time, the ratio, and peak RSS (scripts/bench-pair.py). Usage: scripts/bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
cargo build --release -q -p skopeo-native
ours=${CARGO_TARGET_DIR:-target}/release/skopeo
ref=/usr/bin/skopeo
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
# Our inspect keeps configs it has read (warm rows: every run after the first); the cold rows
# turn that off with SKOPEO_RS_NO_CACHE=1.
export XDG_CACHE_HOME=$tmp/cache
examples/build-example.sh "$tmp/layout" >/dev/null
cp "$tmp/layout/blobs/sha256/$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$tmp/layout/index.json")" "$tmp/manifest.json"

bench() {
  local label=$1; shift
  python3 scripts/bench-pair.py "$runs" "$label" "$ours" "$ref" -- "$@"
}

bench "manifest-digest" manifest-digest "$tmp/manifest.json"
bench "inspect oci:" inspect "oci:$tmp/layout:demo"
bench "inspect --raw oci:" inspect --raw "oci:$tmp/layout:demo"
bench "inspect --config oci:" inspect --config "oci:$tmp/layout:demo"

# Registry: a loopback docker-registry with a 500-tag repository (tags made by PUTting the
# example's manifest under many names once its blobs are there).
if [ -x /usr/bin/docker-registry ]; then
  . scripts/registry.sh
  start_registry "$tmp/reg"
  "$ref" --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/layout:demo" "docker://$addr/bench/many:latest"
  mdigest=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$tmp/layout/index.json")
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$tmp/layout/blobs/sha256/$mdigest" "http://$addr/v2/bench/many/manifests/t[001-499]"
  bench "inspect docker:// (500 tags)" inspect --tls-verify=false "docker://$addr/bench/many:latest"
  SKOPEO_RS_NO_CACHE=1 bench "inspect docker:// cold" inspect --tls-verify=false "docker://$addr/bench/many:latest"
  bench "inspect --raw docker://" inspect --tls-verify=false --raw "docker://$addr/bench/many:latest"
  bench "list-tags (500 tags)" list-tags --tls-verify=false "docker://$addr/bench/many"
  # The same image behind basic auth (htpasswd, bcrypt cost 5 as the tests use).
  anon_addr=$addr
  printf '%s\n' 'alice:$2y$05$S6R4m5/9csmEZaQSJwY6iezW/DTW3EgKveQYeNolN5rvcK7Vq6VrG' > "$tmp/htpasswd"
  start_registry "$tmp/auth-reg" "$tmp/htpasswd"
  auth_addr=$addr
  addr=$anon_addr
  "$ref" --insecure-policy copy -q --dest-tls-verify=false --dest-creds alice:secret \
    "oci:$tmp/layout:demo" "docker://$auth_addr/bench/auth:latest"
  bench "inspect --creds docker://" inspect --tls-verify=false --creds alice:secret "docker://$auth_addr/bench/auth:latest"
  SKOPEO_RS_NO_CACHE=1 bench "inspect --creds docker:// cold" inspect --tls-verify=false --creds alice:secret "docker://$auth_addr/bench/auth:latest"
  bench "inspect --raw --creds docker://" inspect --tls-verify=false --raw --creds alice:secret "docker://$auth_addr/bench/auth:latest"
  bench "list-tags --creds" list-tags --tls-verify=false --creds alice:secret "docker://$auth_addr/bench/auth"
  # A pull of a signed image under a signedBy policy (simple signing in lookaside storage,
  # a GnuPG key made here), and the same pull without a policy for the difference.
  if command -v gpg >/dev/null; then
    export GNUPGHOME=$tmp/gnupg && mkdir -m 700 "$GNUPGHOME"
    gpg --batch -q --passphrase '' --quick-gen-key "Bench <bench@example.com>" rsa2048 sign never
    fpr=$(gpg --with-colons --list-keys bench@example.com | awk -F: '/^fpr/{print $10; exit}')
    gpg --batch -q --armor --export "$fpr" > "$tmp/bench.asc"
    mkdir -p "$tmp/regd"
    printf 'default-docker:\n  lookaside: file://%s\n  lookaside-staging: file://%s\n' "$tmp/sigs" "$tmp/sigs" > "$tmp/regd/default.yaml"
    "$ref" --insecure-policy --registries.d "$tmp/regd" copy -q --dest-tls-verify=false --sign-by "$fpr" \
      "oci:$tmp/layout:demo" "docker://$anon_addr/bench/signed:v1"
    printf '{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"%s"}]}' "$tmp/bench.asc" > "$tmp/signed-policy.json"
    bench "copy docker:// signed, signedBy policy" --policy "$tmp/signed-policy.json" --registries.d "$tmp/regd" \
      copy -q --src-tls-verify=false "docker://$anon_addr/bench/signed:v1" "dir:$tmp/signed-pull"
    bench "copy docker:// signed, no policy" --insecure-policy --registries.d "$tmp/regd" \
      copy -q --src-tls-verify=false "docker://$anon_addr/bench/signed:v1" "dir:$tmp/signed-pull"
  fi
fi
if [ -n "${addr:-}" ]; then
  # The registry's own share: the requests inspect needs (ping, manifest, config, tag list),
  # made back to back over one kept-alive connection with no client work between them.
  python3 - "$addr" "$runs" <<'PY'
import http.client, json, statistics, sys, time
addr, runs = sys.argv[1], int(sys.argv[2])
accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
def timed():
    c = http.client.HTTPConnection(addr)
    start = time.perf_counter()
    for path in ["/v2/", "/v2/bench/many/manifests/latest"]:
        c.request("GET", path, headers=accept); body = c.getresponse().read()
    cfg = json.loads(body)["config"]["digest"]
    for path in [f"/v2/bench/many/blobs/{cfg}", "/v2/bench/many/tags/list"]:
        c.request("GET", path); c.getresponse().read()
    return (time.perf_counter() - start) * 1000
print(f"registry time for inspect's 4 requests (median): {statistics.median(timed() for _ in range(runs)):.2f} ms")
PY
fi

# The WASI command component under the embedded wasmtime (machine code cached after the first
# run) against the native CLI, same commands.
cargo build --release -q -p skopeo-wasi -p skopeo-image-component --target wasm32-wasip2
cargo build --release -q -p skopeo-wasi-runner
target_dir=${CARGO_TARGET_DIR:-target}
component="$target_dir/release/skopeo-wasi-run --dir $tmp $target_dir/wasm32-wasip2/release/skopeo-wasi.wasm"
"$target_dir/release/skopeo-wasi-run" "$target_dir/wasm32-wasip2/release/skopeo-wasi.wasm" --help >/dev/null
wasi() {
  local label=$1; shift
  BENCH_NAMES="component native" python3 scripts/bench-pair.py "$runs" "$label" "$component" "$ours" -- "$@"
}
wasi "component: inspect oci:" inspect "oci:$tmp/layout:demo"
wasi "component: manifest-digest" manifest-digest "$tmp/manifest.json"
if [ -n "${addr:-}" ]; then
  # The component keeps no config cache: compared with the native CLI without one.
  SKOPEO_RS_NO_CACHE=1 wasi "component: inspect docker://" inspect --tls-verify=false "docker://$addr/bench/many:latest"
  wasi "component: list-tags" list-tags --tls-verify=false "docker://$addr/bench/many"
fi
ls -l "$target_dir/wasm32-wasip2/release/skopeo-wasi.wasm" "$target_dir/wasm32-wasip2/release/skopeo_image_component.wasm" | awk '{printf "%-40s %8.0f KB\n", $NF, $5/1024}'

#!/usr/bin/env bash
# Times `copy` against /usr/bin/skopeo in the same run on a loopback docker-registry: an image
# of 4 gzip layers of LAYER_MB each (default 256: the ~1 GB image), pulled to oci: and dir:,
# pushed from oci:, registry to registry, and re-copied when everything exists; and an image
# of 60 layers of MANY_KIB KiB each (default 256) pushed; and one uncompressed layer of real
# files (a tar of the system's shared libraries) compressed to gzip and to zstd into dir:, with the sizes written.
# And the same ~1 GB pull through the fault proxy, every layer cut once at half its size.
# And that image into a private dockerd and back out (docker-daemon:), when dockerd is there.
# Median of RUNS (default 3) interleaved runs, and peak RSS.
# Usage: [ROWS=REGEX] scripts/bench-copy.sh [RUNS] [LAYER_MB] [MANY_KIB]  (ROWS picks rows by label)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
layer_mb=${2:-256}
many_kib=${3:-256}
cargo build --release -q -p skopeo-native
ours=${CARGO_TARGET_DIR:-target}/release/skopeo
ref=/usr/bin/skopeo
tmp=$(mktemp -d)
# make_layout DIR COUNT KIB: an OCI layout tagged "big" of COUNT gzip layers of KIB KiB each.
make_layout() {
python3 - "$1" "$2" "$3" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, count, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def layer_tar(size):
    # One file of random bytes, as a tar: a layer an engine can apply.
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        info = tarfile.TarInfo("random.bin"); info.size = size; info.mtime = 0
        t.addfile(info, io.BytesIO(os.urandom(size)))
    return out.getvalue()
os.makedirs(f"{root}/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(b)
    return d
layers, diffs = [], []
for i in range(count):
    raw = layer_tar(kib << 10)
    diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    gz = gzip.compress(raw, compresslevel=1, mtime=0)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + put(gz), "size": len(gz)})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + put(cfg), "size": len(cfg)},
                "layers": layers}).encode()
md = put(m)
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + md, "size": len(m),
           "annotations": {"org.opencontainers.image.ref.name": "big"}}]}, open(f"{root}/index.json", "w"))
PY
}
# make_plain_layout DIR TREE: an OCI layout tagged "big" of one uncompressed layer, a tar of TREE.
make_plain_layout() {
tar cf "$tmp/plain.tar" -C / "${2#/}" 2>/dev/null || true
python3 - "$1" "$tmp/plain.tar" <<'PY'
import hashlib, json, os, sys
root, tar = sys.argv[1], sys.argv[2]
os.makedirs(f"{root}/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(b)
    return d
h = hashlib.sha256()
with open(tar, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
os.rename(tar, f"{root}/blobs/sha256/{h.hexdigest()}")
layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + h.hexdigest(), "size": os.path.getsize(f"{root}/blobs/sha256/{h.hexdigest()}")}
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + put(cfg), "size": len(cfg)},
                "layers": [layer]}).encode()
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + put(m), "size": len(m),
           "annotations": {"org.opencontainers.image.ref.name": "big"}}]}, open(f"{root}/index.json", "w"))
PY
}
make_layout "$tmp/src" 4 $((layer_mb * 1024))
libs=/usr/lib/x86_64-linux-gnu; [ -d "$libs" ] || libs=/usr/lib
make_plain_layout "$tmp/plain" "$libs"
make_layout "$tmp/many" 60 "$many_kib"
. scripts/registry.sh
start_registry "$tmp/reg"
"$ref" --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/src:big" "docker://$addr/bench/src:v1"
flags=(--insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false)

# selected LABEL: whether the row is wanted (ROWS, a regular expression, picks rows; all by default).
selected() { [[ -z ${ROWS:-} || $1 =~ $ROWS ]]; }

# time_one BIN DEST-PREP ARGS...: seconds for one copy, after removing the destination.
time_one() {
  local bin=$1 dest=$2; shift 2
  rm -rf "$dest"
  # skopeo remembers where blobs were seen and mounts them; forget, so pushes really upload.
  rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb "$HOME/.local/share/containers/cache/blob-info-cache-v1.boltdb"
  # Each run starts with nothing left to write back (the setup and the runs before write GBs).
  sync
  local s e; s=$(date +%s%N); "$bin" "${flags[@]}" "$@" >/dev/null; e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss() {
  local dest=$1; shift; rm -rf "$dest"
  rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb "$HOME/.local/share/containers/cache/blob-info-cache-v1.boltdb"
  /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

bench() {
  local label=$1 dest=$2; shift 2
  selected "$label" || return 0
  : > "$tmp/a"; : > "$tmp/b"
  for i in $(seq "$runs"); do
    time_one "$ours" "$dest" "${@//@RUN@/o$i}" >> "$tmp/a"
    time_one "$ref" "$dest" "${@//@RUN@/r$i}" >> "$tmp/b"
  done
  local a b ra rb
  a=$(median < "$tmp/a"); b=$(median < "$tmp/b")
  ra=$(rss "$dest" "$ours" "${flags[@]}" "${@//@RUN@/rss-o}"); rb=$(rss "$dest" "$ref" "${flags[@]}" "${@//@RUN@/rss-r}")
  printf '%-30s ours %6d ms  skopeo %6d ms  ratio %.2f   RSS ours %7d KB  skopeo %7d KB  ratio %.2f\n' \
    "$label" "$a" "$b" "$(echo "$a/$b" | bc -l)" "$ra" "$rb" "$(echo "$ra/$rb" | bc -l)"
}

echo "images: 4 gzip layers of $layer_mb MiB of random data; 60 gzip layers of $many_kib KiB"
bench "pull to oci:" "$tmp/out-oci" "docker://$addr/bench/src:v1" "oci:$tmp/out-oci:x"
bench "pull to dir:" "$tmp/out-dir" "docker://$addr/bench/src:v1" "dir:$tmp/out-dir"
bench "pull to docker-archive:" "$tmp/out.tar" "docker://$addr/bench/src:v1" "docker-archive:$tmp/out.tar:bench/out:v1"
bench "push from oci:" "$tmp/none" "oci:$tmp/src:big" "docker://$addr/bench/push-@RUN@:v1"
bench "registry to registry" "$tmp/none" "docker://$addr/bench/src:v1" "docker://$addr/bench/copy-@RUN@:v1"
bench "60-layer push" "$tmp/none" "oci:$tmp/many:big" "docker://$addr/bench/many-@RUN@:v1"
bench "re-copy (all blobs exist)" "$tmp/none" "oci:$tmp/src:big" "docker://$addr/bench/src:v1"

# sizes DEST ARGS...: the compressed layer each tool writes (largest file in DEST), in MB.
sizes() {
  local dest=$1 a b; shift
  rm -rf "$dest"; "$ours" "${flags[@]}" "$@"; a=$(ls -S "$dest" | head -1); a=$(stat -c %s "$dest/$a")
  rm -rf "$dest"; "$ref" "${flags[@]}" "$@"; b=$(ls -S "$dest" | head -1); b=$(stat -c %s "$dest/$b")
  printf '%-30s ours %6d MB  skopeo %6d MB\n' "  written" $((a / 1000000)) $((b / 1000000))
}
echo "one uncompressed layer: tar of $libs, $(($(stat -c %s "$tmp"/plain/blobs/sha256/* | sort -n | tail -1) / 1000000)) MB"
bench "compress to gzip (dir:)" "$tmp/out-gz" "oci:$tmp/plain:big" "dir:$tmp/out-gz" --dest-compress
if selected "compress to gzip"; then sizes "$tmp/out-gz" "oci:$tmp/plain:big" "dir:$tmp/out-gz" --dest-compress; fi
bench "compress to zstd (dir:)" "$tmp/out-zst" "oci:$tmp/plain:big" "dir:$tmp/out-zst" --dest-compress --dest-compress-format zstd
if selected "compress to zstd"; then sizes "$tmp/out-zst" "oci:$tmp/plain:big" "dir:$tmp/out-zst" --dest-compress --dest-compress-format zstd; fi

# A pull through the fault proxy (tests/support/fault_proxy.py) that cuts every layer's body
# once at half its size, next to the same pull through the proxy with no fault: ours resumes
# from the cut (Range), skopeo 1.9.3 fails or starts the layer over.
# start_proxy RULES: starts the proxy in front of the registry, setting $proxy and $proxy_pid.
start_proxy() {
  python3 tests/support/fault_proxy.py "$addr" "$1" "$tmp/proxy.log" > "$tmp/proxy.port" &
  proxy_pid=$!
  for _ in $(seq 50); do
    proxy=$(sed -n 's/^port /127.0.0.1:/p' "$tmp/proxy.port")
    [ -n "$proxy" ] && return 0
    sleep 0.1
  done
  echo "the fault proxy did not start" >&2; return 1
}
# time_cut BIN RULES: milliseconds for one pull to oci: through a proxy applying RULES, and
# "failed" after the time when the copy failed.
time_cut() {
  local bin=$1 rules=$2 s e code=0
  start_proxy "$rules"
  rm -rf "$tmp/out-cut"; sync
  s=$(date +%s%N)
  "$bin" "${flags[@]}" "docker://$proxy/bench/src:v1" "oci:$tmp/out-cut:x" >/dev/null 2>&1 || code=$?
  e=$(date +%s%N)
  kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true
  if [ "$code" = 0 ]; then echo $(( (e - s) / 1000000 )); else echo "$(( (e - s) / 1000000 )) failed"; fi
}
if selected "pull cut at 50%"; then
  cut_rules=$("$ref" inspect --raw --tls-verify=false "docker://$addr/bench/src:v1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(json.dumps([{"match": "^GET /v2/bench/src/blobs/" + l["digest"] + "$", "count": 1, "cut_after": l["size"] // 2} for l in m["layers"]]))')
  : > "$tmp/clean-o"; : > "$tmp/cut-o"; : > "$tmp/clean-r"; : > "$tmp/cut-r"
  for i in $(seq "$runs"); do
    time_cut "$ours" '[]' >> "$tmp/clean-o"
    time_cut "$ours" "$cut_rules" >> "$tmp/cut-o"
    time_cut "$ref" '[]' >> "$tmp/clean-r"
    time_cut "$ref" "$cut_rules" >> "$tmp/cut-r"
  done
  co=$(cut -d' ' -f1 "$tmp/clean-o" | median); xo=$(cut -d' ' -f1 "$tmp/cut-o" | median)
  cr=$(cut -d' ' -f1 "$tmp/clean-r" | median); xr=$(cut -d' ' -f1 "$tmp/cut-r" | median)
  of=$(grep -c failed "$tmp/cut-o" || true); rf=$(grep -c failed "$tmp/cut-r" || true)
  printf '%-30s ours %6d ms (clean %6d, %.2fx, %d/%d failed)  skopeo %6d ms (clean %6d, %.2fx, %d/%d failed)\n' \
    "pull cut at 50% (via proxy)" "$xo" "$co" "$(echo "$xo/$co" | bc -l)" "$of" "$runs" \
    "$xr" "$cr" "$(echo "$xr/$cr" | bc -l)" "$rf" "$runs"
fi

# docker-daemon: the ~1 GB image from the registry into a private dockerd (vfs) and back out
# to dir: (as the daemon gives it) and to oci: (gzipped on the way), next to skopeo; the
# image is removed from the daemon before each copy in.
if { selected "into docker-daemon:" || selected "docker-daemon: to dir:" || selected "docker-daemon: to oci:" || selected "daemon floor"; } && [ -x /usr/sbin/dockerd ] && [ "$(id -u)" = 0 ]; then
  dd=$tmp/dockerd; mkdir -p "$dd"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs --log-level=error \
    --data-root "$dd/data" --exec-root "$dd/exec" --pidfile "$dd/pid" -H "unix://$dd/sock" 2> "$dd/log" &
  dockerd_pid=$!
  reg_pids="$reg_pids $dockerd_pid"
  for _ in $(seq 100); do curl -sf --unix-socket "$dd/sock" http://d/_ping >/dev/null && break; sleep 0.2; done
  host=unix://$dd/sock
  rmi() { curl -sf --unix-socket "$dd/sock" -X DELETE "http://d/images/bench/daemon:v1?force=1" >/dev/null || true; }
  # time_daemon BIN ARGS...: milliseconds for one copy (after removing the daemon's copy when writing).
  time_daemon() {
    local bin=$1 s e; shift
    sync; s=$(date +%s%N); "$bin" "${flags[@]}" --src-daemon-host "$host" --dest-daemon-host "$host" "$@" >/dev/null; e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
  }
  daemon_row() { # daemon_row LABEL PREP SRC DEST
    local label=$1 prep=$2 src=$3 dest=$4 a b ra rb
    selected "$label" || return 0
    : > "$tmp/a"; : > "$tmp/b"
    for i in $(seq "$runs"); do
      $prep; time_daemon "$ours" "$src" "$dest" >> "$tmp/a"
      $prep; time_daemon "$ref" "$src" "$dest" >> "$tmp/b"
    done
    a=$(median < "$tmp/a"); b=$(median < "$tmp/b")
    $prep; ra=$(/usr/bin/time -f %M "$ours" "${flags[@]}" --src-daemon-host "$host" --dest-daemon-host "$host" "$src" "$dest" 2>&1 >/dev/null | tail -1)
    $prep; rb=$(/usr/bin/time -f %M "$ref" "${flags[@]}" --src-daemon-host "$host" --dest-daemon-host "$host" "$src" "$dest" 2>&1 >/dev/null | tail -1)
    printf '%-30s ours %6d ms  skopeo %6d ms  ratio %.2f   RSS ours %7d KB  skopeo %7d KB  ratio %.2f\n' \
      "$label" "$a" "$b" "$(echo "$a/$b" | bc -l)" "$ra" "$rb" "$(echo "$ra/$rb" | bc -l)"
  }
  clear_out() { rm -rf "$tmp/out-daemon"; }
  daemon_row "into docker-daemon:" rmi "docker://$addr/bench/src:v1" "docker-daemon:bench/daemon:v1"
  "$ref" "${flags[@]}" --dest-daemon-host "$host" "docker://$addr/bench/src:v1" "docker-daemon:bench/daemon:v1" >/dev/null
  daemon_row "docker-daemon: to dir:" clear_out "docker-daemon:bench/daemon:v1" "dir:$tmp/out-daemon"
  daemon_row "docker-daemon: to oci:" clear_out "docker-daemon:bench/daemon:v1" "oci:$tmp/out-daemon:x"
  # The daemon's own floor: the same archive loaded and saved by the docker CLI, which does
  # nothing but stream it (a client cannot be faster than the daemon's side of the work).
  if selected "daemon floor" && command -v docker >/dev/null; then
    "$ours" "${flags[@]}" "docker://$addr/bench/src:v1" "docker-archive:$tmp/floor.tar:bench/daemon:v1" >/dev/null
    : > "$tmp/a"; : > "$tmp/b"
    for i in $(seq "$runs"); do
      rmi; sync; s=$(date +%s%N); docker -H "$host" load -q -i "$tmp/floor.tar" >/dev/null; e=$(date +%s%N)
      echo $(( (e - s) / 1000000 )) >> "$tmp/a"
      rm -f "$tmp/saved.tar"; sync; s=$(date +%s%N); docker -H "$host" save -o "$tmp/saved.tar" bench/daemon:v1; e=$(date +%s%N)
      echo $(( (e - s) / 1000000 )) >> "$tmp/b"
    done
    printf '%-30s docker load %6d ms  docker save %6d ms\n' "daemon floor (docker CLI)" "$(median < "$tmp/a")" "$(median < "$tmp/b")"
    rm -f "$tmp/floor.tar" "$tmp/saved.tar"
  fi
fi
# containers-storage: the ~1 GB image written into a private store (vfs, and overlay where the
# kernel has it), each run into an empty one; then, in a store skopeo filled, copied out to
# dir: (the uncompressed layers) and to oci:.
# drop_store DIR: removes a store (containers/storage leaves overlay's home mounted on itself).
drop_store() { umount "$1/graph/overlay" 2>/dev/null || true; rm -rf "$1"; }
store_row() { # store_row LABEL DRIVER
  local label=$1 driver=$2 a b ra rb dest
  selected "$label" || return 0
  dest="containers-storage:[$driver@$tmp/csin/graph+$tmp/csin/run]bench/in:v1"
  : > "$tmp/a"; : > "$tmp/b"
  for i in $(seq "$runs"); do
    drop_store "$tmp/csin"; time_one "$ours" "$tmp/none" "docker://$addr/bench/src:v1" "$dest" >> "$tmp/a"
    drop_store "$tmp/csin"; time_one "$ref" "$tmp/none" "docker://$addr/bench/src:v1" "$dest" >> "$tmp/b"
  done
  a=$(median < "$tmp/a"); b=$(median < "$tmp/b")
  drop_store "$tmp/csin"; ra=$(rss "$tmp/none" "$ours" "${flags[@]}" "docker://$addr/bench/src:v1" "$dest")
  drop_store "$tmp/csin"; rb=$(rss "$tmp/none" "$ref" "${flags[@]}" "docker://$addr/bench/src:v1" "$dest")
  drop_store "$tmp/csin"
  printf '%-30s ours %6d ms  skopeo %6d ms  ratio %.2f   RSS ours %7d KB  skopeo %7d KB  ratio %.2f\n' \
    "$label" "$a" "$b" "$(echo "$a/$b" | bc -l)" "$ra" "$rb" "$(echo "$ra/$rb" | bc -l)"
}
if [ "$(id -u)" = 0 ]; then
  for driver in vfs overlay; do
    [ $driver = overlay ] && ! grep -qw overlay /proc/filesystems && continue
    store_row "into containers-storage: ($driver)" $driver
    { selected "containers-storage: ($driver) to dir:" || selected "containers-storage: ($driver) to oci:"; } || continue
    store="[$driver@$tmp/cs-$driver/graph+$tmp/cs-$driver/run]"
    "$ref" "${flags[@]}" "docker://$addr/bench/src:v1" "containers-storage:${store}bench/src:v1" >/dev/null
    bench "containers-storage: ($driver) to dir:" "$tmp/out-cs" "containers-storage:${store}bench/src:v1" "dir:$tmp/out-cs"
    bench "containers-storage: ($driver) to oci:" "$tmp/out-cs" "containers-storage:${store}bench/src:v1" "oci:$tmp/out-cs:x"
    # containers/storage leaves the overlay driver's home mounted on itself.
    umount "$tmp/cs-$driver/graph/overlay" 2>/dev/null || true
  done
fi

#!/usr/bin/env bash
# Builds the bundled example OCI layout from the files in examples/hello/ (no network needed):
# one gzip layer, one config, one manifest, tagged "demo". Output is deterministic.
# Usage: examples/build-example.sh [OUTPUT_DIR]   (default: target/example-layout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../target/example-layout"}
rm -rf "$out" && mkdir -p "$out/blobs/sha256"
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
put() { local d; d=$(sha "$1"); cp "$1" "$out/blobs/sha256/$d"; echo "$d"; }

tar --sort=name --mtime='2026-01-15 10:00:00Z' --owner=0 --group=0 --numeric-owner \
    -C "$here/hello/rootfs" -cf "$work/layer.tar" .
diff_id=$(sha "$work/layer.tar")
gzip -n -9 -c "$work/layer.tar" > "$work/layer.tar.gz"
layer=$(put "$work/layer.tar.gz"); layer_size=$(stat -c %s "$work/layer.tar.gz")

sed "s/@DIFF_ID@/sha256:$diff_id/" "$here/hello/config.json" | tr -d '\n' > "$work/config.json"
config=$(put "$work/config.json"); config_size=$(stat -c %s "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest.json"
manifest=$(put "$work/manifest.json"); manifest_size=$(stat -c %s "$work/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"demo"}}]}' \
    "$manifest" "$manifest_size" > "$out/index.json"
echo "$out"

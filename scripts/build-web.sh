#!/usr/bin/env bash
# Builds the in-browser inspector into web/www/pkg: the wasm module (release), its JavaScript
# glue (wasm-bindgen-cli, the exact version the crate pins), size-optimised by wasm-opt
# (binaryen). Prints the .wasm size. Installs the CLI if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' web/Cargo.toml)
tools=${SKOPEO_TOOLS_ROOT:-}
if [ -z "$tools" ]; then
  if [ -d /var/cache/skopeo-rs ]; then tools=/var/cache/skopeo-rs/tools; else tools="$HOME/.cargo"; fi
fi
bindgen="$tools/bin/wasm-bindgen"
if ! { [ -x "$bindgen" ] && "$bindgen" --version | grep -q " $version\$"; }; then
  echo "installing wasm-bindgen-cli $version into $tools"
  cargo install -q wasm-bindgen-cli --version "$version" --root "$tools"
fi
command -v wasm-opt >/dev/null || { echo "wasm-opt missing: apt-get install binaryen" >&2; exit 1; }

target_dir=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
# Two modules from one crate: the inspector the page loads (pkg/), and the same with the
# signature checks (pkg-trust/, feature "signatures"), which the page imports only when asked
# to verify, so its first load stays small.
build() {
  local out=$1; shift
  cargo build -q --profile web -p skopeo-web --target wasm32-unknown-unknown "$@"
  rm -rf "$out"
  # wasm-opt runs before wasm-bindgen: Debian's binaryen (108) mistypes the externref table
  # that wasm-bindgen adds, so it must only see rustc's output.
  wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types \
    "$target_dir/wasm32-unknown-unknown/web/skopeo_web.wasm" -o "$work/skopeo_web.wasm"
  "$bindgen" --target web --no-typescript --out-dir "$out" "$work/skopeo_web.wasm"
  local size gz
  size=$(stat -c %s "$out/skopeo_web_bg.wasm")
  gz=$(gzip -9 -c "$out/skopeo_web_bg.wasm" | wc -c)
  echo "$out/skopeo_web_bg.wasm: $((size / 1024)) KB ($((gz / 1024)) KB gzipped)"
}
build web/www/pkg-trust --features signatures
build web/www/pkg

#!/usr/bin/env bash
# Installs every test dependency (if missing) and runs all checks and tests.
# Builds are cached outside the clone when a cache directory exists (CARGO_TARGET_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d /var/cache/skopeo-rs ]; then
  export CARGO_TARGET_DIR=/var/cache/skopeo-rs/target
fi

need_apt=()
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
# The CNCF distribution registry, and what the test harness uses for TLS and token auth.
[ -x /usr/bin/docker-registry ] || need_apt+=(docker-registry)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# sif: sources are unsquashed and packed under fakeroot, as containers/image does it.
command -v unsquashfs >/dev/null 2>&1 || need_apt+=(squashfs-tools)
command -v fakeroot >/dev/null 2>&1 || need_apt+=(fakeroot)
# Signing keys for the signature tests.
command -v gpg >/dev/null 2>&1 || need_apt+=(gpg)
# The browser page: wasm-opt, chromium driven by playwright-core from npm.
command -v wasm-opt >/dev/null 2>&1 || need_apt+=(binaryen)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# docker-daemon: a Docker Engine the tests start on private roots, and a static busybox to
# run in the images they load into it.
[ -x /usr/sbin/dockerd ] || need_apt+=(docker.io)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
[ -x /usr/bin/podman ] || need_apt+=(podman)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
  # The package's own service is not used (tests start their own registries on free ports).
  service docker-registry stop >/dev/null 2>&1 || true
  service docker stop >/dev/null 2>&1 || true
fi
installed_targets=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32-wasip2; do
  grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

echo "== fmt";    cargo fmt --all -- --check
echo "== clippy"; cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p skopeo-wasi -p skopeo-image-component --target wasm32-wasip2 -- -D warnings
cargo clippy -p skopeo-web --target wasm32-unknown-unknown -- -D warnings
echo "== core for wasm32-unknown-unknown"; cargo build -p skopeo-core --target wasm32-unknown-unknown
echo "== WASI components (wasm32-wasip2)"
cargo build --release -p skopeo-wasi -p skopeo-image-component --target wasm32-wasip2
echo "== web page"; scripts/build-web.sh
(cd tests/web && npm ci --no-audit --no-fund --silent)
# The library component only links for wasm32-wasip2 (its export names are component names).
echo "== build";  cargo build --workspace --exclude skopeo-image-component
# The tests keep the config cache of inspect to themselves.
XDG_CACHE_HOME="$(mktemp -d)"; export XDG_CACHE_HOME
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT
echo "== tests";  cargo test --workspace --exclude skopeo-image-component

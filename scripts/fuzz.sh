#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (cargo fuzz, nightly toolchain) one after another.
#   scripts/fuzz.sh [SECONDS_EACH] [TARGET...]     default: 600 s each, every target
# Corpora grow under $FUZZ_WORK (default /var/cache/skopeo-rs/fuzz, else fuzz/work), seeded
# from fuzz/regressions and, when present, the shared upstream fixtures. A crash stops its
# target and leaves the input in $FUZZ_WORK/artifacts/TARGET: copy it into
# fuzz/regressions/TARGET/ once fixed, where the core's test `fuzz_regressions` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(references manifests registry_headers config_files archives templates signatures)

if [ -d /var/cache/skopeo-rs ]; then work=${FUZZ_WORK:-/var/cache/skopeo-rs/fuzz}; else work=${FUZZ_WORK:-$PWD/fuzz/work}; fi
tools=$(dirname "$work")/tools
export PATH="$tools/bin:$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --root "$tools"
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal

fixtures=../shared/fixtures
seed() { # seed TARGET FILES...
  local dir="$work/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/seed-$(sha256sum "$f" | cut -c1-16)"; done
  return 0
}
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  [ -d "fuzz/regressions/$t" ] && seed "$t" fuzz/regressions/"$t"/*
done
if [ -d "$fixtures" ]; then
  # manifests and config_files take a first byte choosing how the rest is read.
  for f in "$fixtures"/manifests/* "$fixtures"/manifest-conversions/*; do
    [ -f "$f" ] || continue
    for pick in 0 1 3 5; do
      mkdir -p "$work/corpus/manifests"
      { printf "\\x0$pick"; cat "$f"; } > "$work/corpus/manifests/fixture-$pick-$(basename "$f")"
    done
  done
  pick_seed() { # pick_seed BYTE FILES...
    local byte=$1; shift
    for f in "$@"; do
      [ -f "$f" ] || continue
      mkdir -p "$work/corpus/config_files"
      { printf "\\x0$byte"; cat "$f"; } > "$work/corpus/config_files/fixture-$byte-$(basename "$f")"
    done
  }
  pick_seed 0 "$fixtures"/auth/*.json
  pick_seed 1 "$fixtures"/registries-conf/*.conf "$fixtures"/registries-conf/*/*.conf
  pick_seed 4 "$fixtures"/policy/*.json
  seed archives "$fixtures"/layouts-archives/*.tar "$fixtures"/layouts-archives/*.tar.xz
fi

cd fuzz
failed=()
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds}s"
  cargo +nightly fuzz run --target-dir "$(dirname "$work")/fuzz-target" "$t" "$work/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=262144 \
    -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== crashed: ${failed[*]} (inputs under $work/artifacts/)" >&2
  exit 1
fi
echo "== no crash in ${targets[*]}"

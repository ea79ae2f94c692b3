//! The command component: `wasmtime run skopeo-wasi.wasm inspect …` behaves like the CLI
//! for manifest-digest, inspect and list-tags.

fn main() {
    std::process::exit(skopeo_wasi::cli::main(std::env::args().collect()));
}

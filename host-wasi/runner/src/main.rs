//! `skopeo-wasi-run [--dir PATH]... COMPONENT.wasm ARGS...`: runs the command component as
//! `wasmtime run` would, with wasi:http and the given directories preopened at the same
//! paths (the current directory is always preopened as `.`).

use skopeo_wasi_runner::{Runner, Stdio};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut dirs = vec![PathBuf::from(".")];
    while args.peek().map(String::as_str) == Some("--dir") {
        args.next();
        match args.next() {
            Some(d) => dirs.push(PathBuf::from(d)),
            None => fail("--dir needs a path"),
        }
    }
    let Some(component) = args.next() else {
        fail("usage: skopeo-wasi-run [--dir PATH]... COMPONENT.wasm ARGS...")
    };
    let argv: Vec<String> = std::iter::once("skopeo".to_owned()).chain(args).collect();
    let runner =
        Runner::load(component.as_ref()).unwrap_or_else(|e| fail(&format!("{component}: {e:#}")));
    match runner.run_command(&argv, &dirs, Stdio::Inherit) {
        Ok(out) => std::process::exit(out.code),
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("skopeo-wasi-run: {msg}");
    std::process::exit(2)
}

//! Runs skopeo's WASI components under an embedded wasmtime with WASI and wasi:http: the
//! command component as a program (arguments, output, exit code) and the library
//! component's `skopeo:image` exports as typed calls. Also an example of embedding: a
//! runtime needs only `wit/image.wit` and the standard WASI interfaces.

use std::path::{Path, PathBuf};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({ path: "../../wit", world: "library" });

pub use exports::skopeo::image::image::{
    Error as ImageError, InspectOptions, PlatformChoice, RegistryFailure, RegistryOptions,
};

/// The store's state: WASI and wasi:http contexts over one resource table.
pub struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

/// Where a run's standard output and error go.
pub enum Stdio {
    /// The embedding process's own streams.
    Inherit,
    /// Captured, for [`Output`].
    Capture,
}

/// Captured standard output and error.
type CapturedStdio = (MemoryOutputPipe, MemoryOutputPipe);

/// What a command run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A compiled component and the linker that gives it WASI and wasi:http.
pub struct Runner {
    engine: Engine,
    component: Component,
    linker: Linker<State>,
}

impl Runner {
    /// Compiles the component at `path`, or loads the machine code compiled for it before
    /// (kept next to it as `NAME.HASH.cwasm`, keyed by the file's size and time).
    pub fn load(path: &Path) -> wasmtime::Result<Runner> {
        let engine = Engine::default();
        let component = load_cached(&engine, path)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
        Ok(Runner {
            engine,
            component,
            linker,
        })
    }

    fn store(
        &self,
        args: &[String],
        dirs: &[PathBuf],
        stdio: &Stdio,
    ) -> wasmtime::Result<(Store<State>, Option<CapturedStdio>)> {
        let mut builder = WasiCtxBuilder::new();
        builder.args(args);
        for dir in dirs {
            let guest = dir.to_string_lossy();
            builder.preopened_dir(dir, guest.as_ref(), FsPerms::ReadWrite)?;
        }
        let pipes = match stdio {
            Stdio::Inherit => {
                builder.inherit_stdio();
                None
            }
            Stdio::Capture => {
                let out = MemoryOutputPipe::new(64 << 20);
                let err = MemoryOutputPipe::new(1 << 20);
                builder.stdout(out.clone()).stderr(err.clone());
                Some((out, err))
            }
        };
        let state = State {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
        };
        Ok((Store::new(&self.engine, state), pipes))
    }

    /// Runs the command component with `args` (program name first), the directories in
    /// `dirs` preopened at the same paths.
    pub fn run_command(
        &self,
        args: &[String],
        dirs: &[PathBuf],
        stdio: Stdio,
    ) -> wasmtime::Result<Output> {
        let (mut store, pipes) = self.store(args, dirs, &stdio)?;
        let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(
            &mut store,
            &self.component,
            &self.linker,
        )?;
        let code = match command.wasi_cli_run().call_run(&mut store) {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(e),
            },
        };
        let (stdout, stderr) = match pipes {
            Some((out, err)) => (out.contents().to_vec(), err.contents().to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Output {
            code,
            stdout,
            stderr,
        })
    }

    /// Instantiates the library component, with `dirs` preopened at the same paths.
    pub fn library(&self, dirs: &[PathBuf]) -> wasmtime::Result<LibraryInstance> {
        let (mut store, _) = self.store(&[], dirs, &Stdio::Inherit)?;
        let library = Library::instantiate(&mut store, &self.component, &self.linker)?;
        Ok(LibraryInstance { store, library })
    }
}

fn load_cached(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    use std::hash::{Hash, Hasher};
    // Keyed by the file's size and modification time (cheap to check on every start) and
    // the engine's compatibility hash.
    let meta = std::fs::metadata(path)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.len().hash(&mut hasher);
    meta.modified()?.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let cached = path.with_extension(format!("{:016x}.cwasm", hasher.finish()));
    if cached.exists() {
        // SAFETY: the file was written below by `precompile_component` of this same engine
        // configuration (the hash covers it) for this exact component file.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(c);
        }
    }
    let compiled = engine.precompile_component(&std::fs::read(path)?)?;
    let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, &compiled).is_ok() {
        let _ = std::fs::rename(&tmp, &cached);
    }
    // SAFETY: `compiled` was just produced by `precompile_component` on this engine.
    unsafe { Component::deserialize(engine, &compiled) }
}

/// An instance of the library component, ready for calls.
pub struct LibraryInstance {
    store: Store<State>,
    library: Library,
}

impl LibraryInstance {
    /// `manifest-digest`.
    pub fn manifest_digest(
        &mut self,
        manifest: &[u8],
    ) -> wasmtime::Result<Result<String, ImageError>> {
        self.library
            .skopeo_image_image()
            .call_manifest_digest(&mut self.store, manifest)
    }

    /// `inspect`.
    pub fn inspect(
        &mut self,
        image: &str,
        options: &InspectOptions,
    ) -> wasmtime::Result<Result<Vec<u8>, ImageError>> {
        self.library
            .skopeo_image_image()
            .call_inspect(&mut self.store, image, options)
    }

    /// `list-tags`.
    pub fn list_tags(
        &mut self,
        repository: &str,
        options: &RegistryOptions,
    ) -> wasmtime::Result<Result<Vec<String>, ImageError>> {
        self.library
            .skopeo_image_image()
            .call_list_tags(&mut self.store, repository, options)
    }
}

impl ImageError {
    /// The message, as the CLI would print it.
    pub fn message(&self) -> &str {
        match self {
            ImageError::Invalid(m)
            | ImageError::Verification(m)
            | ImageError::Unsupported(m)
            | ImageError::Io(m) => m,
            ImageError::Registry(f) => &f.message,
        }
    }
}

//! What any host with `std` provides the same way, natively and as a WASI component: the
//! filesystem effect (WASI: through preopened directories) and skopeo's log lines. Natively,
//! file streams run on worker threads (`background`, `pipe`) so that the core's concurrent
//! blob copies overlap their reads, writes and syncs.

#[cfg(not(target_family = "wasm"))]
pub mod aligned_alloc;
#[cfg(not(target_family = "wasm"))]
pub mod background;
#[cfg(not(target_family = "wasm"))]
pub mod direct;
pub mod fs;
pub mod interrupt;
pub mod log;
#[cfg(not(target_family = "wasm"))]
pub mod pipe;
pub mod streams;

//! skopeo for WASI runtimes: the core's effects over wasi:http (registries) and std::fs over
//! wasi:filesystem (preopened layouts), the operations both components offer, and the
//! command-line subset the command component runs.

pub mod cli;
pub mod http;
pub mod ops;
pub mod sync;

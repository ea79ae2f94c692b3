//! What any host with `std` provides the same way, natively and as a WASI component: the
//! filesystem effect (WASI: through preopened directories) and skopeo's log lines.

pub mod fs;
pub mod log;

//! The distribution (registry v2) protocol, sans I/O: challenges, credentials and tokens,
//! error bodies, and a client that sends its requests through the host's `HttpClient`.

pub mod attachments;
pub mod auth;
pub mod challenge;
pub mod client;
pub mod destination;
pub mod errors;
pub mod link;
pub mod lookaside;
pub mod resume;
pub mod retry;
pub mod source;
pub mod transfer;
pub mod upload;

pub use auth::{CredentialFlags, Credentials};

/// The `User-Agent` sent to registries.
pub const USER_AGENT: &str = concat!("skopeo/1.9.3 skopeo-rs/", env!("CARGO_PKG_VERSION"));
pub use client::{RegistryClient, RegistryConfig};

//! The distribution (registry v2) protocol, sans I/O: challenges, credentials and tokens,
//! error bodies, and a client that sends its requests through the host's `HttpClient`.

pub mod auth;
pub mod challenge;
pub mod client;
pub mod errors;
pub mod source;

pub use auth::Credentials;
pub use client::{RegistryClient, RegistryConfig};

//! The sans-IO core of a skopeo reimplementation.
//!
//! Everything here is pure data and decisions: references, digests, manifests, inspect output.
//! I/O reaches the core only through the [`effects`] traits that each host implements.
#![allow(async_fn_in_trait)] // The browser host's futures are not `Send`; no auto-trait bounds wanted.

pub mod digest;
pub mod reference;
pub mod transport;

//! The sans-IO core of a skopeo reimplementation.
//!
//! Everything here is pure data and decisions: references, digests, manifests, inspect output.
//! I/O reaches the core only through the [`effects`] traits that each host implements.
#![allow(async_fn_in_trait)] // The browser host's futures are not `Send`; no auto-trait bounds wanted.

pub mod auth_file;
pub mod compression;
pub mod concurrent;
pub mod config;
pub mod config_cache;
pub mod containers_storage;
pub mod convert;
pub mod copy;
pub mod destination;
pub mod digest;
pub mod docker_archive;
pub mod effects;
pub mod error;
pub mod gojson;
pub mod gotime;
pub mod hash_on_workers;
pub mod inspect;
pub mod layout;
pub mod manifest;
pub mod policy;
pub mod reference;
pub mod registries_conf;
pub mod registries_d;
pub mod registry;
pub mod sif;
pub mod signature;
pub mod source;
pub mod sync;
pub mod template;
pub mod transport;
pub mod trust;

pub use error::{Error, Result};

//! `sync`: which images of a source (a registry repository, a `dir:` tree, a YAML file of
//! registries) go where, and what of that the destination already holds.

pub mod in_sync;
pub mod plan;
pub mod registry_sync;
pub mod reuse;
pub mod semver;
pub mod yaml;

//! Manifests of every schema (schema 1 with its JWS, schema 2, OCI) and the manifest lists
//! and indexes that name them, as registries and files serve them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::manifests(data));

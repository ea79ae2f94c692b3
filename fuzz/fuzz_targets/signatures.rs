//! Signatures fetched from lookaside stores and registries: OpenPGP messages and the simple
//! signing payloads inside them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::signatures(data));

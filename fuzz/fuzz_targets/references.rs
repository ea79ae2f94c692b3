//! Image references and transport-qualified image names, as users and files give them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::references(data));

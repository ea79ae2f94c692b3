//! `inspect --format` Go templates, rendered against an image's inspect values.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::templates(data));

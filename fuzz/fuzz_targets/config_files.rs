//! The configuration files users already have: auth.json / docker config.json,
//! registries.conf, registries.d, policy.json and sync's YAML. The first byte picks the file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::config_files(data));

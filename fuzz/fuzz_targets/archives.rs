//! Docker archives as `docker save` writes them (or an attacker does): the tar, possibly
//! compressed, its members' names and link targets, and the `manifest.json` inside.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::archives(data));

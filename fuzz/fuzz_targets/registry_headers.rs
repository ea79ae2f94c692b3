//! What a registry answers in headers: `WWW-Authenticate` challenges, `Link` pagination and
//! `Retry-After`. One header value per line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::registry_headers(data));

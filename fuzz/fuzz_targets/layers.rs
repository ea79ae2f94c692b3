//! A layer's tar as a store applies it: nothing may land outside the layer's directory.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skopeo_fuzz::layers(data));

#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hookgate::fuzz::proxy_header(data));

#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hookgate::fuzz::config_loader(data));

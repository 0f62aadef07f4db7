#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bgpsieve_fuzz::rtr_pdu(data));

#![no_main]

use libfuzzer_sys::fuzz_target;
use rowport_formats::Format;

fuzz_target!(|data: &[u8]| rowport_fuzz::drain(Format::Xls, data));

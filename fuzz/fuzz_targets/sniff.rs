#![no_main]

use libfuzzer_sys::fuzz_target;

// Guessing a format from any bytes answers, and the format it names reads them without
// a panic.
fuzz_target!(|data: &[u8]| {
    if let Some(format) = rowport_formats::sniff_format(data) {
        rowport_fuzz::drain(format, data);
    }
});

//! `sy://` references: parsing never panics, and every reference that parses is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syvault_proto::notation::Reference;

fuzz_target!(|text: &str| {
    if let Ok(reference) = Reference::parse(text) {
        assert_eq!(
            reference.to_string(),
            text,
            "valid references are canonical"
        );
    }
});

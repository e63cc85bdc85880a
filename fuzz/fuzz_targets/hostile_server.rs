//! The client's operations against a server that answers anything: every operation ends in a
//! value or a typed error, never a panic, and never loops without asking for I/O or time; a
//! get or a rotation never yields another record than the one asked for, and a create never
//! one in another folder. Lease operations (take, renew, revoke, list, and a keeper renewing on
//! the virtual clock) end the same way; a lease is on the record asked for, its `Debug` never
//! depends on its credentials, a keeper never keeps an expiry later than it asked for (plus 60 s
//! of skew) or past the lease's 24-hour cap, and never revokes unasked; and the credentials a
//! server sends never change how a conversation ends or what its errors print.
//!
//! The input format is in `common/hostile.rs`: an operation byte, then the server's answers
//! (status, `Retry-After`, `ETag`, body) and transport failures in turn. The seeds, written by
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`, are conversations with a
//! well-behaved server in which every operation succeeds; the writer checks that they do.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/counter.rs"]
mod counter;
// The seed writer reads the outcomes this target ignores.
#[allow(dead_code)]
#[path = "../common/hostile.rs"]
mod hostile;

fuzz_target!(|data: &[u8]| {
    let Some((&which, answers)) = data.split_first() else {
        return;
    };
    let conversation = hostile::converse(which, &mut hostile::Answers(answers));
    hostile::check_credentials_unseen(which, answers, &conversation);
});

//! Freed memory holds no plaintext: a global allocator inspects every block as it is freed
//! (and every block a reallocation leaves behind) while a test thread handles a secret.
//!
//! Deterministic: the inspection is switched on for the current thread only, around the code
//! under test, and looks for a marker that only the secret contains.

#![allow(unsafe_code)] // A global allocator cannot be written without it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use syvault_proto::model::Credentials;
use syvault_proto::rand_core::UnwrapErr;
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::{RecordUid, SecretString};

/// A run of bytes that appears only inside the secrets of these tests.
const MARKER: &[u8] = b"Zq7MARKERx9Kp";

thread_local! {
    static INSPECTING: Cell<bool> = const { Cell::new(false) };
    static FOUND: Cell<usize> = const { Cell::new(0) };
    /// What freed blocks are searched for: [`MARKER`] unless a test looks for something else.
    static NEEDLE: Cell<&'static [u8]> = const { Cell::new(MARKER) };
}

/// Blocks freed while inspecting, on any thread.
static INSPECTED: AtomicUsize = AtomicUsize::new(0);

struct Inspecting;

// SAFETY: every call is passed on to `System` with the same arguments; `dealloc` only reads
// and clears the block it is handed, which is still allocated and `layout.size()` bytes long.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if INSPECTING.with(Cell::get) {
            INSPECTED.fetch_add(1, Ordering::Relaxed);
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let needle = NEEDLE.with(Cell::get);
            if block.windows(needle.len()).any(|window| window == needle) {
                FOUND.with(|found| found.set(found.get() + 1));
            }
        }
        // Every freed block is wiped, so a block handed out again never carries stale bytes
        // from before an inspection into the uninitialized part of a new allocation, where
        // they would be found when that allocation is freed.
        unsafe { ptr.write_bytes(0, layout.size()) };
        unsafe { System.dealloc(ptr, layout) }
    }

    // No `realloc`: the default allocates, copies and calls `dealloc`, so the block a
    // reallocation leaves behind is inspected too.
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// Runs `f` while inspecting, and returns how many freed blocks held the marker.
fn freed_copies(f: impl FnOnce()) -> usize {
    FOUND.with(|found| found.set(0));
    let before = INSPECTED.load(Ordering::Relaxed);
    INSPECTING.with(|on| on.set(true));
    f();
    INSPECTING.with(|on| on.set(false));
    assert!(
        INSPECTED.load(Ordering::Relaxed) > before,
        "nothing was freed"
    );
    FOUND.with(Cell::get)
}

/// Runs `f` while inspecting, and returns how many freed blocks held `needle`.
fn freed_copies_of(needle: &'static [u8], f: impl FnOnce()) -> usize {
    NEEDLE.with(|n| n.set(needle));
    let found = freed_copies(f);
    NEEDLE.with(|n| n.set(MARKER));
    found
}

/// A PEM-like value: newlines become `\n` escapes in JSON, which is what sends `serde_json`
/// through its scratch buffer.
fn pem_secret() -> String {
    let marker = std::str::from_utf8(MARKER).unwrap();
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for _ in 0..20 {
        pem.push_str(marker);
        pem.push_str("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    }
    pem.push_str("-----END PRIVATE KEY-----\n\"quoted\" \\ tab\t");
    pem
}

fn payload() -> RecordPayload {
    let mut payload = RecordPayload::new("Service key");
    payload.fields.set("private_key", pem_secret());
    payload
        .fields
        .set("plain", std::str::from_utf8(MARKER).unwrap());
    payload.notes = SecretString::new(format!("notes\n{}", pem_secret()));
    payload
}

#[test]
fn the_allocator_sees_a_plaintext_copy_that_is_not_zeroized() {
    // The inspection itself works: an ordinary String holding the marker is found.
    let found = freed_copies(|| {
        let copy = String::from_utf8(MARKER.to_vec()).unwrap();
        drop(std::hint::black_box(copy));
    });
    assert_eq!(found, 1);
    // And so does serde_json's scratch buffer when a secret is read the ordinary way.
    let json = payload().to_json();
    let found = freed_copies(|| {
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        drop(std::hint::black_box(value));
    });
    assert!(found > 0);
}

#[test]
fn reading_a_payload_with_escapes_leaves_no_freed_plaintext() {
    let json = payload().to_json();
    let uid: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
    let expected = payload();
    let found = freed_copies(|| {
        let read = RecordPayload::from_json(&uid, &json).unwrap();
        assert!(read == expected);
    });
    assert_eq!(found, 0, "freed blocks held plaintext");
}

#[test]
fn writing_a_payload_leaves_no_freed_plaintext() {
    let payload = payload();
    let found = freed_copies(|| drop(payload.to_json()));
    assert_eq!(found, 0, "freed blocks held plaintext");
}

#[test]
fn a_seal_and_open_round_trip_leaves_no_freed_plaintext() {
    let payload = payload();
    let mut rng = UnwrapErr(getrandom::SysRng);
    let folder_key = SymmetricKey::generate(&mut rng);
    let uid = RecordUid::generate(&mut rng);
    let found = freed_copies(|| {
        let sealed = record::seal(&uid, &folder_key, &payload, &mut rng);
        let opened = record::open(
            &uid,
            &folder_key,
            &sealed.encrypted_dek,
            &sealed.encrypted_data,
        )
        .unwrap();
        assert!(opened == payload);
    });
    assert_eq!(found, 0, "freed blocks held plaintext");
}

#[test]
fn credentials_json_leaves_no_freed_plaintext() {
    // A client secret is base64 text: no escapes, so serde_json borrows it while reading.
    // Long enough that a growing output buffer moves after the marker is written.
    let secret = format!(
        "{}MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg{}",
        std::str::from_utf8(MARKER).unwrap(),
        "A".repeat(600)
    );
    let credentials = Credentials::new(
        "https://vault.example.com",
        uuid::Uuid::from_u128(7),
        SecretString::new(secret),
    );
    let found = freed_copies(|| {
        let json = credentials.to_json();
        let read = Credentials::from_json(&json).unwrap();
        assert!(read == credentials);
    });
    assert_eq!(found, 0, "freed blocks held plaintext");
}

/// The `Authorization` value of the first request of a listing by a client whose key is
/// `secret`, at a fixed time, and the client once that request was answered 403 (an answer
/// that is not retried). The request is dropped before the client is returned.
fn authorized_request(secret: &SecretString) -> (String, syvault_proto::Client) {
    use syvault_proto::ops::{ListSecrets, Operation};
    use syvault_proto::step::{Input, Step};
    let mut client = syvault_proto::Client::builder()
        .server("https://vault.example.com")
        .client_id(uuid::Uuid::from_u128(7))
        .client_secret(secret.clone())
        .build()
        .unwrap();
    let now = syvault_proto::Timestamp::from_unix_secs(1_700_000_000);
    let mut rng = UnwrapErr(getrandom::SysRng);
    let mut op = ListSecrets::new();
    let Step::Send(request) = op.step(&mut client, Input::Start, now, &mut rng) else {
        panic!("the listing did not send a request");
    };
    let value = request.headers()[http::header::AUTHORIZATION].clone();
    assert!(value.is_sensitive());
    let header = value.to_str().unwrap().to_owned();
    drop((value, request));
    let forbidden = http::Response::builder()
        .status(403)
        .body(br#"{"error":{"code":"forbidden","message":"no"}}"#.to_vec())
        .unwrap();
    let Step::Done(Err(_)) = op.step(&mut client, Input::Response(forbidden), now, &mut rng) else {
        panic!("a 403 did not end the listing");
    };
    (header, client)
}

#[test]
fn a_bearer_token_and_its_header_leave_no_freed_copy() {
    let key = syvault_proto::keys::ClientKey::generate(&mut UnwrapErr(getrandom::SysRng));
    let secret = key.to_client_secret();
    // ES256 signatures here are deterministic (RFC 6979): the same key, claims and time give
    // the same token, so a first run tells what the second must not leave behind.
    let (header, client) = authorized_request(&secret);
    drop(client);
    let signature = header.rsplit('.').next().unwrap().as_bytes().to_vec();
    assert_eq!(
        signature.len(),
        86,
        "{header:?} is not `Bearer <ES256 JWT>`"
    );
    let signature: &'static [u8] = Box::leak(signature.into_boxed_slice());
    let found = freed_copies_of(signature, || {
        let (again, client) = authorized_request(&secret);
        assert_eq!(again, header, "the token was not signed the same way twice");
        // The header text copied out above is the test's own: wiped before it is freed.
        let mut again = again.into_bytes();
        again.fill(0);
        drop(again);
        drop(client);
    });
    assert_eq!(found, 0, "freed blocks held the token's signature");
}

//! The client's operations against a server that answers anything: every operation ends in a
//! value or a typed error, never a panic, and never loops without asking for I/O or time.
//!
//! The input is one byte choosing the operation, then the server's answers in turn, each:
//!
//! - a kind byte: if it is a multiple of 16 the attempt fails in transport (the next byte picks
//!   the failure class) instead of being answered;
//! - two bytes of status (100 to 599);
//! - a `Retry-After` byte: 0 for none, 1 to 200 for 0 to 199 seconds, above that one of a few
//!   malformed values;
//! - an `ETag` byte: 0 for none, 1 to 200 for `"r<n>"`, above that one of a few odd values;
//! - two bytes of body length (big-endian) and the body.
//!
//! Long inputs carry multi-page listings and rotation polls; the client is built once per
//! process (see `CLIENT`), so each input costs only its own operation.
#![no_main]

use std::sync::{LazyLock, Mutex, PoisonError};

use libfuzzer_sys::fuzz_target;
use syvault_proto::config::ClientConfig;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::keys::ClientKey;
use syvault_proto::ops::Operation;
use syvault_proto::record::RecordPayload;
use syvault_proto::step::{Input, Step};
use syvault_proto::{Client, Error, RecordUid, Timestamp};
use uuid::Uuid;

#[path = "../common/counter.rs"]
mod counter;
use counter::Counter;

/// Steps allowed per operation: enough for several pages, retries and a rotation's polls.
const STEP_LIMIT: usize = 512;

/// The client, built once: parsing its key and signing its token are elliptic-curve
/// arithmetic that would otherwise take most of each run. Each input starts from a reset
/// client, which keeps only its identity and token. Tokens are deterministic (RFC 6979) and
/// every input starts at the same time, so a kept token is the one a fresh client would sign.
static CLIENT: LazyLock<Mutex<Client>> = LazyLock::new(|| {
    let key = ClientKey::from_scalar_bytes(&[7; 32]).expect("a valid scalar");
    let config = ClientConfig::new(
        "https://vault.example.com",
        Uuid::from_u128(1),
        key.to_client_secret(),
    );
    Mutex::new(Client::new(config).expect("a valid configuration"))
});

/// Odd `Retry-After` values a server might send.
const ODD_RETRY_AFTER: [&str; 8] = [
    "",
    " 5 ",
    "-1",
    "1.5",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "99999999999999999999999",
    "86401",
    "+3",
];

/// Odd `ETag` values a server might send.
const ODD_ETAGS: [&str; 6] = ["", "W/\"r1\"", "r1", "\"\"", "*", "\"r1\", \"r2\""];

const TRANSPORT_KINDS: [TransportErrorKind; 5] = [
    TransportErrorKind::Connect,
    TransportErrorKind::Timeout,
    TransportErrorKind::ConnectionClosed,
    TransportErrorKind::Tls,
    TransportErrorKind::Other,
];

/// The server's answers, cut from the fuzz input.
struct Answers<'a>(&'a [u8]);

impl Answers<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn next(&mut self) -> Option<Input> {
        let kind = self.byte()?;
        if kind % 16 == 0 {
            let class = TRANSPORT_KINDS[usize::from(self.byte()?) % TRANSPORT_KINDS.len()];
            return Some(Input::Failed(Error::transport(
                class,
                "injected transport failure",
            )));
        }
        let status = 100 + u16::from_be_bytes([self.byte()?, self.byte()?]) % 500;
        let retry_after = self.byte()?;
        let etag = self.byte()?;
        let len = usize::from(u16::from_be_bytes([self.byte()?, self.byte()?])).min(self.0.len());
        let (body, rest) = self.0.split_at(len);
        self.0 = rest;
        let mut response = http::Response::builder().status(status);
        match retry_after {
            0 => {}
            1..=200 => response = response.header("retry-after", u32::from(retry_after) - 1),
            _ => {
                let odd = ODD_RETRY_AFTER[usize::from(retry_after) % ODD_RETRY_AFTER.len()];
                response = response.header("retry-after", odd);
            }
        }
        match etag {
            0 => {}
            1..=200 => response = response.header("etag", format!("\"r{etag}\"")),
            _ => response = response.header("etag", ODD_ETAGS[usize::from(etag) % ODD_ETAGS.len()]),
        }
        Some(Input::Response(response.body(body.to_vec()).ok()?))
    }
}

/// Steps an operation, answering its requests from the input, until it ends, the answers run
/// out or it took `limit` steps.
fn drive<T>(
    answers: &mut Answers<'_>,
    rng: &mut Counter,
    limit: usize,
    mut step: impl FnMut(Input, Timestamp, &mut Counter) -> Step<T>,
) {
    let mut now = Timestamp::from_unix_secs(1_767_225_600);
    let mut input = Input::Start;
    for _ in 0..limit {
        input = match step(input, now, rng) {
            Step::Send(_) => match answers.next() {
                Some(input) => input,
                None => return,
            },
            Step::Sleep(until) | Step::Join(until) => {
                assert!(until >= now, "a wait into the past would spin");
                now = until;
                Input::Wake
            }
            Step::Done(_) => return,
        };
    }
}

fn run<O: Operation>(client: &mut Client, mut op: O, answers: &mut Answers<'_>, rng: &mut Counter) {
    drive(answers, rng, STEP_LIMIT, |input, now, rng| {
        op.step(client, input, now, rng)
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let mut rng = Counter(u64::from(which));
    let mut client = CLIENT.lock().unwrap_or_else(PoisonError::into_inner);
    client.reset();
    let client = &mut *client;
    let uid: RecordUid = "7Kj9mNpQ2xRs".parse().expect("a valid UID");
    let mut answers = Answers(data);
    match which % 6 {
        0 => {
            let op = client.get(uid);
            run(client, op, &mut answers, &mut rng);
            // A second get of the same record meets the cache: revalidation, 304, stale.
            let op = client.get(uid);
            run(client, op, &mut answers, &mut rng);
        }
        1 => {
            let op = client.list();
            run(client, op, &mut answers, &mut rng);
        }
        2 => {
            let op = client.resolve_all([
                "sy://Production/Database/field/password",
                "sy://7Kj9mNpQ2xRs/uid",
            ]);
            run(client, op, &mut answers, &mut rng);
        }
        3 => {
            let op = client.create(Uuid::from_u128(2), RecordPayload::new("New"));
            run(client, op, &mut answers, &mut rng);
        }
        4 => {
            let op = client.rotate(uid);
            run(client, op, &mut answers, &mut rng);
        }
        _ => {
            let token = "vft_AQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC";
            let mut client = Client::builder()
                .server("https://vault.example.com")
                .bootstrap_client()
                .expect("a valid server");
            let op = syvault_proto::ops::Bootstrap::new(token);
            run(&mut client, op, &mut answers, &mut rng);
        }
    }
});

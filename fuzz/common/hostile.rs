//! The `hostile_server` conversation, shared by the target and by the seed writer, which runs
//! the same code against a well-behaved server to record its answers and then replays each
//! seed to check that every operation succeeds.
//!
//! An input is one byte choosing the operation (`byte % 6`) and seeding the client's random
//! number generator, then the server's answers in turn, each:
//!
//! - a kind byte: if it is a multiple of 16 the attempt fails in transport (the next byte picks
//!   the failure class) instead of being answered;
//! - two bytes of status (100 to 599);
//! - a `Retry-After` byte: 0 for none, 1 to 200 for 0 to 199 seconds, above that one of a few
//!   malformed values;
//! - an `ETag` byte: 0 for none, 1 to 200 for `"r<n>"`, above that one of a few odd values;
//! - two bytes of body length (big-endian) and the body.

use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use syvault_proto::config::ClientConfig;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::keys::ClientKey;
use syvault_proto::model::Credentials;
use syvault_proto::ops::{Bootstrap, Operation};
use syvault_proto::record::RecordPayload;
use syvault_proto::stats::ClientStats;
use syvault_proto::step::{Input, Request, Step};
use syvault_proto::{Client, Error, RecordUid, Timestamp};
use uuid::Uuid;

use crate::counter::Counter;

/// Steps allowed per operation: enough for several pages, retries and a rotation's polls.
pub const STEP_LIMIT: usize = 512;
/// The client's scalar and id.
pub const CLIENT_SCALAR: [u8; 32] = [7; 32];
pub const CLIENT_ID: Uuid = Uuid::from_u128(1);
pub const SERVER: &str = "https://vault.example.com";
/// The record read, rotated and resolved; the folder a secret is created in.
pub const UID: &str = "7Kj9mNpQ2xRs";
pub const CREATE_FOLDER: Uuid = Uuid::from_u128(0x0f6d_2c9a_3b71_4e58_8a2d_c41e_7b95_f306);
/// The references resolved by operation 2.
pub const REFERENCES: [&str; 2] = [
    "sy://Production/Database/field/password",
    "sy://7Kj9mNpQ2xRs/uid",
];
/// The one-time token bootstrap (operation 5) starts from.
pub const ONE_TIME_TOKEN: &str =
    "vft_AQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC";
/// Every input starts at this time.
pub const START: u64 = 1_767_225_600;
/// How long past its TTL (60 s) the client may serve a cached secret when the server fails.
pub const MAX_STALE_SECS: u64 = 300;
/// Operation 0's second get starts `which / 6` times this many seconds after the first ended:
/// 0 to 15 s meet a fresh entry, 60 s to 360 s a stale one (revalidated, or served stale when
/// the server fails), later ones an entry too old to serve.
pub const GET_GAP_SECS: u64 = 15;

/// The client, built once: parsing its key and signing its token are elliptic-curve
/// arithmetic that would otherwise take most of each run. Each input starts from a reset
/// client, which keeps only its identity and token. Tokens are deterministic (RFC 6979) and
/// every input starts at the same time, so a kept token is the one a fresh client would sign.
static CLIENT: LazyLock<Mutex<Client>> = LazyLock::new(|| {
    let key = ClientKey::from_scalar_bytes(&CLIENT_SCALAR).expect("a valid scalar");
    let mut config = ClientConfig::new(SERVER, CLIENT_ID, key.to_client_secret());
    // Stale serving on, so that a failing revalidation can take that path too.
    config.cache.max_stale = Some(Duration::from_secs(MAX_STALE_SECS));
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

/// Where an operation's answers come from.
pub trait Server {
    /// The answer to `request`, or `None` when there is none left.
    fn answer(&mut self, request: &Request) -> Option<Input>;
}

/// The server's answers, cut from the fuzz input; they do not depend on the requests.
pub struct Answers<'a>(pub &'a [u8]);

impl Answers<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    /// The next answer.
    pub fn next_answer(&mut self) -> Option<Input> {
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

impl Server for Answers<'_> {
    fn answer(&mut self, _: &Request) -> Option<Input> {
        self.next_answer()
    }
}

/// How one operation of a conversation ended.
#[derive(Debug)]
pub enum Outcome {
    /// It succeeded; a short description of what it yielded (no secret values).
    Done(String),
    /// It failed with a typed error.
    Failed(Error),
    /// The answers ran out before it finished.
    OutOfAnswers,
    /// It took [`STEP_LIMIT`] steps.
    StepLimit,
}

/// What a conversation came to: each operation's outcome, and the client's counters after it.
#[derive(Debug)]
pub struct Conversation {
    pub outcomes: Vec<Outcome>,
    pub stats: ClientStats,
}

/// Steps an operation from time `now`, answering its requests from `server`, until it ends,
/// the answers run out or it took [`STEP_LIMIT`] steps. Never waits into the past. Returns how
/// it ended and when.
fn run<O: Operation>(
    client: &mut Client,
    mut op: O,
    server: &mut dyn Server,
    rng: &mut Counter,
    mut now: Timestamp,
    describe: impl FnOnce(&O::Output) -> String,
) -> (Outcome, Timestamp) {
    let mut input = Input::Start;
    for _ in 0..STEP_LIMIT {
        input = match op.step(client, input, now, rng) {
            Step::Send(request) => match server.answer(&request) {
                Some(input) => input,
                None => return (Outcome::OutOfAnswers, now),
            },
            Step::Sleep(until) | Step::Join(until) => {
                assert!(until >= now, "a wait into the past would spin");
                now = until;
                Input::Wake
            }
            Step::Done(Ok(output)) => return (Outcome::Done(describe(&output)), now),
            Step::Done(Err(error)) => return (Outcome::Failed(error), now),
        };
    }
    (Outcome::StepLimit, now)
}

/// Runs operation `which % 6` from a reset client, with `which` seeding its generator.
pub fn converse(which: u8, server: &mut dyn Server) -> Conversation {
    let mut rng = Counter(u64::from(which));
    let mut client = CLIENT.lock().unwrap_or_else(PoisonError::into_inner);
    client.reset();
    let client = &mut *client;
    let uid: RecordUid = UID.parse().expect("a valid UID");
    let start = Timestamp::from_unix_secs(START);
    let outcomes = match which % 6 {
        0 => {
            let describe = |secret: &std::sync::Arc<syvault_proto::model::Secret>| {
                // Whatever the server sends, a get never yields another record.
                assert_eq!(secret.uid, uid, "a get returned another record");
                format!("{} revision {}", secret.uid, secret.revision)
            };
            let op = client.get(uid);
            let (first, end) = run(client, op, server, &mut rng, start, describe);
            // A second get of the same record meets the cache: a hit, a revalidation (304 or a
            // new revision), a stale serve when the server fails, or an entry too old.
            let later = end + Duration::from_secs(u64::from(which / 6) * GET_GAP_SECS);
            let op = client.get(uid);
            let (second, _) = run(client, op, server, &mut rng, later, describe);
            vec![first, second]
        }
        1 => {
            let op = client.list();
            vec![
                run(client, op, server, &mut rng, start, |list| {
                    format!("{} secrets", list.len())
                })
                .0,
            ]
        }
        2 => {
            let op = client.resolve_all(REFERENCES);
            vec![
                run(client, op, server, &mut rng, start, |all| {
                    let resolved = all.iter().filter(|one| one.is_ok()).count();
                    format!("{resolved} of {} resolved", all.len())
                })
                .0,
            ]
        }
        3 => {
            let op = client.create(CREATE_FOLDER, RecordPayload::new("New"));
            vec![
                run(client, op, server, &mut rng, start, |secret| {
                    assert_eq!(secret.folder_id, CREATE_FOLDER, "created in another folder");
                    format!("created {} revision {}", secret.uid, secret.revision)
                })
                .0,
            ]
        }
        4 => {
            let op = client.rotate(uid);
            vec![
                run(client, op, server, &mut rng, start, |rotated| {
                    assert_eq!(
                        rotated.secret.uid, uid,
                        "a rotation returned another record"
                    );
                    assert_eq!(rotated.revision, rotated.secret.revision);
                    format!("rotated to revision {}", rotated.revision)
                })
                .0,
            ]
        }
        _ => {
            let mut client = Client::builder()
                .server(SERVER)
                .bootstrap_client()
                .expect("a valid server");
            let describe = |credentials: &Credentials| format!("client {}", credentials.client_id);
            let op = Bootstrap::new(ONE_TIME_TOKEN);
            let outcomes = vec![run(&mut client, op, server, &mut rng, start, describe).0];
            // The bootstrap ran on a client of its own: its statistics are that client's.
            return Conversation {
                outcomes,
                stats: client.stats(),
            };
        }
    };
    Conversation {
        outcomes,
        stats: client.stats(),
    }
}

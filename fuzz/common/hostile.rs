//! The `hostile_server` conversation, shared by the target and by the seed writer, which runs
//! the same code against a well-behaved server to record its answers and then replays each
//! seed to check that every operation succeeds (or, in a near-miss, fails as it should).
//!
//! An input is one byte choosing the operation (`byte % OPERATIONS`) and seeding the client's
//! random number generator, then the server's answers in turn, each:
//!
//! - a kind byte: if it is a multiple of 16 the attempt fails in transport (the next byte picks
//!   the failure class) instead of being answered;
//! - two bytes of status (100 to 599);
//! - a `Retry-After` byte: 0 for none, 1 to 200 for 0 to 199 seconds, above that one of a few
//!   malformed values;
//! - an `ETag` byte: 0 for none, 1 to 200 for `"r<n>"`, above that one of a few odd values;
//! - two bytes of body length (big-endian) and the body.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use http::Method;
use serde_json::value::RawValue;

use syvault_proto::config::ClientConfig;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::keys::ClientKey;
use syvault_proto::lease::{LEASE_CAP, Lease};
use syvault_proto::model::Credentials;
use syvault_proto::ops::{Bootstrap, LeaseEnd, LeaseStatus, Operation};
use syvault_proto::record::RecordPayload;
use syvault_proto::secret::SecretString;
use syvault_proto::stats::ClientStats;
use syvault_proto::step::{Input, Request, Step};
use syvault_proto::wire::paths;
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
/// Operation 0's second get starts `which / OPERATIONS` times this many seconds after the first
/// ended: 0 and 30 s meet a fresh entry, 60 s to 360 s a stale one (revalidated, or served stale
/// when the server fails), later ones (up to 690 s) an entry too old to serve.
pub const GET_GAP_SECS: u64 = 30;
/// How many operations the first byte chooses from.
pub const OPERATIONS: u8 = 11;
/// The lease renewed and revoked by operations 7 and 8.
pub const LEASE_ID: Uuid = Uuid::from_u128(0x0b6f_5f4e_8a53_4a8e_9a4c_2f7d_1c3e_5b60);
/// The TTLs a lease operation asks for, chosen by `which / OPERATIONS % 4`: an hour, half the
/// 24-hour cap (a keeper reaches the cap in two renewals), the cap itself (never renewed) and
/// the shortest TTL (a margin of 20 s).
pub const LEASE_TTLS: [u64; 4] = [3600, 43_200, 86_400, 60];
/// How much later than asked (`now + ttl`) a renewal may end: the clock skew docs/protocol.md
/// §12.8 allows.
pub const RENEWAL_SKEW: Duration = Duration::from_secs(60);
/// How far past `created_at + 24 h` a renewal may end: the rounding of the server's
/// whole-second timestamps (§12.8).
pub const ROUNDING: Duration = Duration::from_secs(1);

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
    /// The answer to `request`, sent at `now` by the virtual clock, or `None` when there is none
    /// left.
    fn answer(&mut self, request: &Request, now: Timestamp) -> Option<Input>;
}

/// The server's answers, cut from the fuzz input; they do not depend on the requests.
pub struct Answers<'a>(pub &'a [u8]);

impl<'a> Answers<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    /// The next answer, undecoded: a transport failure's class byte, or a response's parts.
    fn frame(&mut self) -> Option<Frame<'a>> {
        let kind = self.byte()?;
        if kind % 16 == 0 {
            return Some(Frame::Failure(self.byte()?));
        }
        let status = 100 + u16::from_be_bytes([self.byte()?, self.byte()?]) % 500;
        let retry_after = self.byte()?;
        let etag = self.byte()?;
        let len = usize::from(u16::from_be_bytes([self.byte()?, self.byte()?])).min(self.0.len());
        let (body, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(Frame::Response {
            status,
            retry_after,
            etag,
            body,
        })
    }

    /// The next answer.
    pub fn next_answer(&mut self) -> Option<Input> {
        let (status, retry_after, etag, body) = match self.frame()? {
            Frame::Failure(class) => {
                let class = TRANSPORT_KINDS[usize::from(class) % TRANSPORT_KINDS.len()];
                return Some(Input::Failed(Error::transport(
                    class,
                    "injected transport failure",
                )));
            }
            Frame::Response {
                status,
                retry_after,
                etag,
                body,
            } => (status, retry_after, etag, body),
        };
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

/// One answer of the input format, undecoded.
enum Frame<'a> {
    Failure(u8),
    Response {
        status: u16,
        retry_after: u8,
        etag: u8,
        body: &'a [u8],
    },
}

impl Server for Answers<'_> {
    fn answer(&mut self, _: &Request, _: Timestamp) -> Option<Input> {
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
            Step::Send(request) => match server.answer(&request, now) {
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

/// The TTL lease operations ask for in an input whose first byte is `which`.
pub fn lease_ttl(which: u8) -> Duration {
    Duration::from_secs(LEASE_TTLS[usize::from(which / OPERATIONS) % LEASE_TTLS.len()])
}

/// At which of its sleeps (1 to 5) the keeper of operation 10 is asked to revoke its lease and
/// woken early, or 0 for never.
pub fn revoke_after(which: u8) -> u8 {
    which / (OPERATIONS * 4)
}

/// Runs operation `which % OPERATIONS` from a reset client, with `which` seeding its generator.
pub fn converse(which: u8, server: &mut dyn Server) -> Conversation {
    let mut rng = Counter(u64::from(which));
    let mut client = CLIENT.lock().unwrap_or_else(PoisonError::into_inner);
    client.reset();
    let client = &mut *client;
    let uid: RecordUid = UID.parse().expect("a valid UID");
    let start = Timestamp::from_unix_secs(START);
    let outcomes = match which % OPERATIONS {
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
            let later = end + Duration::from_secs(u64::from(which / OPERATIONS) * GET_GAP_SECS);
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
        6 => {
            let op = client.lease(uid, lease_ttl(which));
            vec![
                run(client, op, server, &mut rng, start, |lease| {
                    describe_lease(lease, uid)
                })
                .0,
            ]
        }
        7 => {
            let op = client.renew_lease(LEASE_ID, lease_ttl(which));
            vec![
                run(client, op, server, &mut rng, start, |info| {
                    assert_eq!(info.lease_id, LEASE_ID, "renewed another lease");
                    format!("renewed until {}", info.expires_at.as_unix_secs())
                })
                .0,
            ]
        }
        8 => {
            let op = client.revoke_lease(LEASE_ID);
            vec![
                run(client, op, server, &mut rng, start, |()| {
                    "revoked".to_owned()
                })
                .0,
            ]
        }
        9 => {
            let op = client.leases();
            vec![
                run(client, op, server, &mut rng, start, |leases| {
                    format!("{} leases", leases.len())
                })
                .0,
            ]
        }
        10 => {
            let ttl = lease_ttl(which);
            let op = client.lease(uid, ttl);
            let mut lease = None;
            let (created, end) = run(client, op, server, &mut rng, start, |taken| {
                lease = Some(taken.clone());
                describe_lease(taken, uid)
            });
            let mut outcomes = vec![created];
            if let Some(lease) = lease {
                let keeper = Keeper {
                    lease: &lease,
                    ttl,
                    revoke_after: revoke_after(which),
                };
                outcomes.push(keeper.run(client, server, &mut rng, end));
            }
            outcomes
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

/// Describes a lease that was taken, after checking that it is on the record asked for and that
/// its `Debug` does not depend on its credentials.
fn describe_lease(lease: &Lease, uid: RecordUid) -> String {
    assert_eq!(lease.record_uid, uid, "a lease on another record");
    let mut masked = lease.clone();
    masked.password = SecretString::from("masked password");
    masked.connection_string = SecretString::from("masked connection string");
    assert_eq!(
        format!("{lease:?}"),
        format!("{masked:?}"),
        "a lease's Debug shows its credentials"
    );
    format!(
        "lease {} until {}",
        lease.lease_id,
        lease.expires_at.as_unix_secs()
    )
}

/// A lease keeper driven over the virtual clock, with its invariants checked after every step.
struct Keeper<'a> {
    lease: &'a Lease,
    ttl: Duration,
    /// At which sleep the driver asks for revocation and wakes the keeper early; 0 for never.
    revoke_after: u8,
}

impl Keeper<'_> {
    /// Keeps the lease from `now` until the keeper ends, the answers run out or it took
    /// [`STEP_LIMIT`] steps.
    fn run(
        &self,
        client: &mut Client,
        server: &mut dyn Server,
        rng: &mut Counter,
        mut now: Timestamp,
    ) -> Outcome {
        let mut keeper = client.keep_lease(self.lease, self.ttl);
        let cap = self.lease.created_at + LEASE_CAP;
        let renew_path = paths::lease_renew(&self.lease.lease_id);
        let revoke_path = paths::lease(&self.lease.lease_id);
        let mut expires_at = keeper.expires_at();
        let mut renewals = 0;
        let mut sleeps = 0u8;
        let mut revoking = false;
        let mut input = Input::Start;
        for _ in 0..STEP_LIMIT {
            let step = keeper.step(client, input, now, rng);
            let renewed = keeper.renewals().checked_sub(renewals);
            assert!(
                matches!(renewed, Some(0 | 1)),
                "renewals went from {renewals} to {}",
                keeper.renewals()
            );
            renewals = keeper.renewals();
            if keeper.expires_at() != expires_at {
                // Only a renewal the keeper accepted moves the expiry, and never past what it
                // asked for (plus the skew) or the lease's 24-hour cap (plus the rounding).
                assert_eq!(renewed, Some(1), "the expiry moved without a renewal");
                assert!(
                    keeper.expires_at() <= now + self.ttl + RENEWAL_SKEW,
                    "kept a renewal that ends later than asked for"
                );
                assert!(
                    keeper.expires_at() <= cap + ROUNDING,
                    "kept a renewal past the 24-hour cap"
                );
                expires_at = keeper.expires_at();
            }
            if keeper.status() == LeaseStatus::Expiring {
                assert!(
                    now >= keeper.replace_at(),
                    "expiring before its last margin"
                );
            }
            input = match step {
                Step::Send(request) => {
                    let path = request.uri().path();
                    if request.method() == Method::DELETE {
                        assert!(revoking, "revoked without being asked to");
                        assert_eq!(path, revoke_path, "revoked another lease");
                    } else {
                        assert_eq!(request.method(), Method::POST);
                        assert_eq!(path, renew_path, "renewed another lease");
                    }
                    match server.answer(&request, now) {
                        Some(input) => input,
                        None => return Outcome::OutOfAnswers,
                    }
                }
                Step::Sleep(until) | Step::Join(until) => {
                    assert!(until >= now, "a wait into the past would spin");
                    sleeps = sleeps.saturating_add(1);
                    if sleeps == self.revoke_after {
                        keeper.revoke();
                        revoking = true;
                    } else {
                        now = until;
                    }
                    Input::Wake
                }
                Step::Done(Ok(end)) => {
                    match end {
                        LeaseEnd::Expired => {
                            assert!(now >= keeper.expires_at(), "expired before its end");
                            assert_eq!(keeper.status(), LeaseStatus::Expired);
                        }
                        LeaseEnd::Revoked => {
                            assert!(revoking, "revoked without being asked to");
                            assert_eq!(keeper.status(), LeaseStatus::Revoked);
                        }
                        _ => {}
                    }
                    return Outcome::Done(format!("{end:?} after {renewals} renewals"));
                }
                Step::Done(Err(error)) => {
                    assert_eq!(keeper.status(), LeaseStatus::Failed);
                    return Outcome::Failed(error);
                }
            };
        }
        Outcome::StepLimit
    }
}

/// The byte ranges of `answers` (the input after its first byte) that hold the value of a
/// `password` or `connection_string` member of a body that is a JSON object, where that value
/// is a string without escapes (so that it can be changed in place, byte for byte).
pub fn secret_spans(answers: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut cursor = Answers(answers);
    while let Some(frame) = cursor.frame() {
        let Frame::Response { body, .. } = frame else {
            continue;
        };
        let Ok(members) = serde_json::from_slice::<BTreeMap<String, &RawValue>>(body) else {
            continue;
        };
        for name in ["password", "connection_string"] {
            let Some(raw) = members.get(name).map(|raw| raw.get()) else {
                continue;
            };
            if raw.len() > 2 && raw.starts_with('"') && !raw.contains('\\') {
                // The raw value borrows from the body, which borrows from `answers`.
                let start = raw.as_ptr() as usize - answers.as_ptr() as usize + 1;
                spans.push(start..start + raw.len() - 2);
            }
        }
    }
    spans
}

/// Checks that the credentials a server sends never reach an error or an outcome: the same
/// conversation with every credential in the answers changed (letters and digits rotated, so
/// that the JSON stays the same shape) ends the same way, errors printing the same text.
pub fn check_credentials_unseen(which: u8, answers: &[u8], conversation: &Conversation) {
    let spans = secret_spans(answers);
    if spans.is_empty() {
        return;
    }
    let mut changed = answers.to_vec();
    for span in spans {
        for byte in &mut changed[span] {
            *byte = match *byte {
                b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8' => *byte + 1,
                b'z' => b'a',
                b'Z' => b'A',
                b'9' => b'0',
                other => other,
            };
        }
    }
    let again = converse(which, &mut Answers(&changed));
    let text = |conversation: &Conversation| {
        conversation
            .outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Failed(error) => format!("{error} {error:?}"),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text(conversation),
        text(&again),
        "a credential the server sent changed how the conversation ended"
    );
}

//! The client's operations against a server that answers anything: every operation ends in a
//! value or a typed error, never a panic, and never loops without asking for I/O or time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syvault_proto::config::ClientConfig;
use syvault_proto::keys::ClientKey;
use syvault_proto::ops::Operation;
use syvault_proto::rand_core::{TryCryptoRng, TryRng};
use syvault_proto::record::RecordPayload;
use syvault_proto::step::{Input, Step};
use syvault_proto::{Client, RecordUid, Timestamp};
use uuid::Uuid;

/// Every answer the server gives is cut from the fuzz input: two bytes of status, one byte of
/// length in 16-byte units, then the body.
struct Answers<'a>(&'a [u8]);

impl Answers<'_> {
    fn next(&mut self) -> Option<Input> {
        let [a, b, len, rest @ ..] = self.0 else {
            return None;
        };
        let len = (usize::from(*len) * 16).min(rest.len());
        let (body, rest) = rest.split_at(len);
        self.0 = rest;
        let status = 100 + u16::from_be_bytes([*a, *b]) % 500;
        let response = http::Response::builder()
            .status(status)
            .header("retry-after", "1")
            .header("etag", "\"r1\"")
            .body(body.to_vec())
            .ok()?;
        Some(Input::Response(response))
    }
}

/// A deterministic generator: the fuzzer explores answers, not randomness.
struct Counter(u64);

impl TryRng for Counter {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for Counter {}

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
    drive(answers, rng, 64, |input, now, rng| {
        op.step(client, input, now, rng)
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let mut rng = Counter(u64::from(which));
    let key = ClientKey::from_scalar_bytes(&[7; 32]).expect("a valid scalar");
    let config = ClientConfig::new(
        "https://vault.example.com",
        Uuid::from_u128(1),
        key.to_client_secret(),
    );
    let mut client = Client::new(config).expect("a valid configuration");
    let uid: RecordUid = "7Kj9mNpQ2xRs".parse().expect("a valid UID");
    let mut answers = Answers(data);
    match which % 6 {
        0 => {
            let op = client.get(uid);
            run(&mut client, op, &mut answers, &mut rng);
        }
        1 => {
            let op = client.list();
            run(&mut client, op, &mut answers, &mut rng);
        }
        2 => {
            let op = client.resolve_all([
                "sy://Production/Database/field/password",
                "sy://7Kj9mNpQ2xRs/uid",
            ]);
            run(&mut client, op, &mut answers, &mut rng);
        }
        3 => {
            let op = client.create(Uuid::from_u128(2), RecordPayload::new("New"));
            run(&mut client, op, &mut answers, &mut rng);
        }
        4 => {
            let op = client.rotate(uid);
            run(&mut client, op, &mut answers, &mut rng);
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

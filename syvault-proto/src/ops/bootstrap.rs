//! Turning a one-time token into a client's credentials.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use rand_core::CryptoRng;

use super::{Operation, after_finish, out_of_order, pending};
use crate::bootstrap::{BootstrapKeys, OneTimeToken};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::exchange::{self, Call, Session};
use crate::folder_key;
use crate::jwt::TokenMode;
use crate::keys::ClientKey;
use crate::model::Credentials;
use crate::step::{Input, Response, Step};
use crate::time::Timestamp;
use crate::wire::{self, Base64Bytes, BootstrapRequest, BootstrapResponse, FolderKeysUpload};

/// Bootstraps a new client from a one-time token (`vft_…`).
///
/// It generates the client's key pair, sends the public key with the token's proof, opens the
/// folder keys of the answer with the token-derived key, wraps each to the client's own public
/// key and uploads them, and yields the credentials to persist. The token secret never leaves the
/// client; the private key never leaves it either.
///
/// It is an [`Operation`] like any other, stepped by the same driver loop, on a client that has
/// a server and policies but no identity yet ([`crate::builder::ClientBuilder::bootstrap_client`]).
/// Server, retry policy and body limit come from that client; when the bootstrap succeeds the
/// client takes the new identity and is ready for other operations.
///
/// ```
/// use syvault_proto::ops::{Bootstrap, Operation};
/// use syvault_proto::step::{Input, Step};
/// use syvault_proto::{Client, Timestamp};
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let mut client = Client::builder().server("https://vault.example.com").bootstrap_client()?;
/// let mut op = Bootstrap::new("vft_not-a-token");
/// let step = op.step(&mut client, Input::Start, Timestamp::from_unix_secs(1_700_000_000), &mut rng);
/// assert!(matches!(step, Step::Done(Err(syvault_proto::Error::InvalidOneTimeToken { .. }))));
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct Bootstrap {
    token: Result<OneTimeToken>,
    state: State,
}

#[derive(Debug)]
enum State {
    Ready,
    Posting(Call, Box<Pending>),
    Uploading(Call, Box<Pending>),
    Finished,
}

/// What bootstrap holds between its two requests.
struct Pending {
    session: Session,
    key: ClientKey,
    keys: BootstrapKeys,
}

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pending")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Bootstrap {
    /// A bootstrap with the one-time token the admin was shown. A malformed token is reported
    /// by the first step.
    pub fn new(one_time_token: &str) -> Self {
        Self {
            token: OneTimeToken::parse(one_time_token),
            state: State::Ready,
        }
    }

    fn start(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Credentials> {
        if client.session.identity.is_some() {
            return self.finish(Err(Error::invalid_input(
                "client",
                "already has an identity; bootstrap runs on ClientBuilder::bootstrap_client",
            )));
        }
        let token = match &self.token {
            Ok(token) => token,
            Err(error) => {
                let error = match error {
                    Error::InvalidOneTimeToken { reason } => Error::InvalidOneTimeToken { reason },
                    other => Error::invalid_input("one-time token", other.to_string()),
                };
                return self.finish(Err(error));
            }
        };
        let key = ClientKey::generate(rng);
        let keys = token.derive();
        let body = wire::to_body(&BootstrapRequest {
            token: keys.request_token(),
            public_key: Base64Bytes(key.public_key().to_sec1().to_vec()),
        });
        // The requests run on a session of their own: the client takes the identity only once
        // the folder keys are uploaded, so a failed bootstrap leaves it as it was. What they
        // count moves to the client's statistics after every step.
        let mut session = Session {
            server: client.session.server.clone(),
            identity: None,
            retry: client.session.retry,
            max_response_body: client.session.max_response_body,
            stats: crate::stats::ClientStats::default(),
            last_answer: None,
            budget: crate::retry::BudgetTracker::default(),
        };
        let mut call = Call::new(Method::POST, wire::paths::bootstrap().to_owned())
            .with_body(body)
            .unauthenticated();
        let step = call.send(&mut session, now);
        session.move_counts_into(&mut client.session);
        self.state = State::Posting(call, Box::new(Pending { session, key, keys }));
        self.on_posted(client, step, now, rng)
    }

    fn on_posted(
        &mut self,
        client: &mut Client,
        step: Step<Response>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Credentials> {
        let response = match pending(step) {
            Ok(step) => return step,
            Err(Ok(response)) => response,
            Err(Err(error)) => return self.finish(Err(error)),
        };
        let State::Posting(_, mut pending) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return self.finish(Err(out_of_order()));
        };
        let answer = match exchange::expect_status(&response, StatusCode::OK)
            .and_then(|()| exchange::parse::<BootstrapResponse>(&response))
        {
            Ok(answer) => answer,
            Err(error) => return self.finish(Err(error)),
        };
        let mut keys = BTreeMap::new();
        let public = pending.key.public_key();
        for (folder_id, sealed) in &answer.encrypted_folder_keys {
            match pending.keys.open_folder_key(folder_id, sealed.as_slice()) {
                Ok(folder_key) => {
                    let wrapped =
                        folder_key::wrap(&folder_key, folder_id, &answer.client_id, &public, rng);
                    keys.insert(*folder_id, Base64Bytes(wrapped));
                }
                Err(error) => return self.finish(Err(error)),
            }
        }
        if let Err(error) =
            pending
                .session
                .identify(answer.client_id, pending.key.clone(), TokenMode::default())
        {
            return self.finish(Err(error));
        }
        let body = wire::to_body(&FolderKeysUpload { keys });
        let mut call =
            Call::new(Method::PUT, wire::paths::folder_keys().to_owned()).with_body(body);
        let step = call.send(&mut pending.session, now);
        pending.session.move_counts_into(&mut client.session);
        self.state = State::Uploading(call, pending);
        self.on_uploaded(client, step)
    }

    fn on_uploaded(&mut self, client: &mut Client, step: Step<Response>) -> Step<Credentials> {
        let response = match pending(step) {
            Ok(step) => return step,
            Err(Ok(response)) => response,
            Err(Err(error)) => return self.finish(Err(error)),
        };
        let State::Uploading(_, pending) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return self.finish(Err(out_of_order()));
        };
        if let Err(error) = exchange::expect_status(&response, StatusCode::NO_CONTENT) {
            return self.finish(Err(error));
        }
        let client_id = match &pending.session.identity {
            Some(identity) => identity.client_id,
            None => {
                return self.finish(Err(out_of_order()));
            }
        };
        let credentials = Credentials {
            server: pending.session.server.base.clone(),
            client_id,
            client_secret: pending.key.to_client_secret(),
        };
        let mode = client.token_mode;
        if let Err(error) = client.session.identify(client_id, pending.key, mode) {
            return self.finish(Err(error));
        }
        self.finish(Ok(credentials))
    }

    fn finish(&mut self, result: Result<Credentials>) -> Step<Credentials> {
        self.state = State::Finished;
        Step::Done(result)
    }
}

impl Operation for Bootstrap {
    type Output = Credentials;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Credentials> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready => self.start(client, now, rng),
            State::Posting(mut call, mut pending) => {
                let step = call.on_input(&mut pending.session, input, now, rng);
                pending.session.move_counts_into(&mut client.session);
                self.state = State::Posting(call, pending);
                self.on_posted(client, step, now, rng)
            }
            State::Uploading(mut call, mut pending) => {
                let step = call.on_input(&mut pending.session, input, now, rng);
                pending.session.move_counts_into(&mut client.session);
                self.state = State::Uploading(call, pending);
                self.on_uploaded(client, step)
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }
}

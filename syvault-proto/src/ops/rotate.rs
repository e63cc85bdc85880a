//! Rotating a secret's credential and waiting for the outcome.

use core::time::Duration;

use http::header::RETRY_AFTER;
use http::{Method, StatusCode};
use rand_core::CryptoRng;
use uuid::Uuid;

use super::get::GetSecret;
use super::{Operation, after_finish, out_of_order, pending};
use crate::client::Client;
use crate::error::{Error, ErrorCode, ErrorDetails, Result};
use crate::exchange::{self, Call};
use crate::model::{RotationOutcome, RotationStarted, Secret};
use crate::step::{Input, Response, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::{self, DataEnvelope, Rotation, RotationStatus};

/// Starts a rotation (adopting one already running), polls its status until it is terminal, and
/// on completion reads the new revision past the cache.
///
/// Polls honour `Retry-After`, else back off from 250 ms doubling to 2 s. Past the deadline the
/// operation ends with [`Error::RotationTimeout`], whose rotation id resumes the wait through
/// [`Client::resume_rotation`]. A failed rotation is [`Error::RotationFailed`]; the old
/// credential then stays in force.
#[derive(Debug)]
pub struct RotateSecret {
    uid: RecordUid,
    rotation_id: Option<Uuid>,
    deadline: Option<Timestamp>,
    interval: Duration,
    revision: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    Ready,
    Starting(Call),
    Polling(Call),
    Waiting,
    Fetching(GetSecret),
    Finished,
}

impl RotateSecret {
    /// Rotates the secret `uid` and waits for the outcome. With `rotation_id`, it waits for a
    /// rotation that is already running (such as one whose wait timed out) instead of starting
    /// one.
    pub fn new(uid: RecordUid, rotation_id: Option<Uuid>) -> Self {
        Self {
            uid,
            rotation_id,
            deadline: None,
            interval: Duration::ZERO,
            revision: 0,
            state: State::Ready,
        }
    }

    fn start(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationOutcome> {
        self.deadline = Some(now + client.rotation.deadline);
        self.interval = client.rotation.initial_interval;
        if self.rotation_id.is_some() {
            return self.poll(client, now, rng);
        }
        let mut call = Call::new(Method::POST, wire::paths::rotate(&self.uid));
        let step = call.send(&mut client.session, now);
        self.state = State::Starting(call);
        self.on_started(client, step, now, rng)
    }

    fn on_started(
        &mut self,
        client: &mut Client,
        step: Step<Response>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationOutcome> {
        match pending(step) {
            Ok(step) => step,
            Err(result) => match started(result, &self.uid) {
                Ok(started) => {
                    self.rotation_id = Some(started.rotation_id);
                    self.poll(client, now, rng)
                }
                Err(error) => self.finish(Err(error)),
            },
        }
    }

    fn poll(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationOutcome> {
        let Some(rotation_id) = self.rotation_id else {
            return self.finish(Err(out_of_order()));
        };
        let mut call = Call::get(wire::paths::rotation(&rotation_id));
        let step = call.send(&mut client.session, now);
        self.state = State::Polling(call);
        self.on_polled(client, step, now, rng)
    }

    fn on_polled(
        &mut self,
        client: &mut Client,
        step: Step<Response>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationOutcome> {
        let response = match pending(step) {
            Ok(step) => return step,
            Err(Ok(response)) => response,
            Err(Err(error)) => return self.finish(Err(error)),
        };
        let rotation = match exchange::expect_status(&response, StatusCode::OK)
            .and_then(|()| exchange::parse::<DataEnvelope<Rotation>>(&response))
        {
            Ok(envelope) => envelope.data,
            Err(error) => return self.finish(Err(error)),
        };
        if Some(rotation.rotation_id) != self.rotation_id || rotation.uid != self.uid {
            return self.finish(Err(Error::malformed(
                200,
                "the server answered about another rotation",
            )));
        }
        crate::trace::event!(
            debug,
            uid = %self.uid,
            rotation_id = %rotation.rotation_id,
            status = ?rotation.status,
            "rotation status"
        );
        match rotation.status {
            RotationStatus::Completed => {
                let Some(revision) = rotation.revision else {
                    return self.finish(Err(Error::malformed(
                        200,
                        "a completed rotation without a revision",
                    )));
                };
                self.revision = revision;
                self.fetch(client, now, rng)
            }
            RotationStatus::Failed => {
                let message = rotation
                    .error
                    .unwrap_or_else(|| "no reason given".to_owned());
                self.finish(Err(Error::RotationFailed {
                    rotation_id: rotation.rotation_id,
                    message,
                }))
            }
            RotationStatus::Pending | RotationStatus::Running => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(wire::parse_retry_after);
                self.wait(client, retry_after, now)
            }
        }
    }

    /// Sleeps before the next poll or read, unless that would pass the deadline.
    fn wait(
        &mut self,
        client: &Client,
        retry_after: Option<Duration>,
        now: Timestamp,
    ) -> Step<RotationOutcome> {
        let wait = retry_after.unwrap_or(self.interval);
        self.interval = (self.interval * 2).min(client.rotation.max_interval);
        let wake = now + wait;
        match (self.deadline, self.rotation_id) {
            (Some(deadline), Some(rotation_id)) if wake > deadline => {
                self.finish(Err(Error::RotationTimeout { rotation_id }))
            }
            _ => {
                self.state = State::Waiting;
                Step::Sleep(wake)
            }
        }
    }

    fn fetch(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationOutcome> {
        // The cache may hold the old credential: read past it.
        let mut get = GetSecret::fresh(self.uid);
        let step = get.step(client, Input::Start, now, rng);
        self.state = State::Fetching(get);
        self.on_fetched(client, step, now)
    }

    fn on_fetched(
        &mut self,
        client: &mut Client,
        step: Step<std::sync::Arc<Secret>>,
        now: Timestamp,
    ) -> Step<RotationOutcome> {
        match pending(step) {
            Ok(step) => step,
            // A replica may lag behind the rotation: read again shortly.
            Err(Ok(secret)) if secret.revision < self.revision => self.wait(client, None, now),
            Err(Ok(secret)) => match self.rotation_id {
                Some(rotation_id) => self.finish(Ok(RotationOutcome {
                    rotation_id,
                    status: RotationStatus::Completed,
                    revision: secret.revision,
                    secret: std::sync::Arc::unwrap_or_clone(secret),
                })),
                None => self.finish(Err(out_of_order())),
            },
            Err(Err(error)) => self.finish(Err(error)),
        }
    }

    fn finish(&mut self, result: Result<RotationOutcome>) -> Step<RotationOutcome> {
        self.state = State::Finished;
        Step::Done(result)
    }
}

/// The rotation the answer to `POST /secrets/{uid}/rotate` names: started (202) or already
/// running (409 `rotation_in_progress`, adopted).
fn started(answer: Result<Response>, uid: &RecordUid) -> Result<RotationStarted> {
    match answer {
        Ok(response) => exchange::expect_status(&response, StatusCode::ACCEPTED)
            .and_then(|()| exchange::parse::<DataEnvelope<Rotation>>(&response))
            .map(|envelope| RotationStarted {
                rotation_id: envelope.data.rotation_id,
                adopted: false,
            }),
        Err(Error::Api(api)) if api.code == ErrorCode::RotationInProgress => api
            .details
            .as_ref()
            .and_then(ErrorDetails::rotation_id)
            .map(|rotation_id| RotationStarted {
                rotation_id,
                adopted: true,
            })
            .ok_or_else(|| {
                Error::malformed(409, "rotation_in_progress without details.rotation_id")
            }),
        Err(Error::Api(api)) if api.code == ErrorCode::SecretNotFound => {
            Err(Error::SecretNotFound {
                uid: uid.to_string(),
            })
        }
        Err(error) => Err(error),
    }
}

/// Starts a rotation of a secret (`POST /secrets/{uid}/rotate`), or adopts the one already
/// running, and returns its id at once without waiting for the outcome: for a caller that
/// wants to say which rotation it is waiting for before it waits
/// ([`Client::resume_rotation`]).
#[derive(Debug)]
pub struct StartRotation {
    uid: RecordUid,
    call: Option<Call>,
    done: bool,
}

impl StartRotation {
    /// Starts a rotation of the secret `uid`.
    pub fn new(uid: RecordUid) -> Self {
        Self {
            uid,
            call: None,
            done: false,
        }
    }
}

impl Operation for StartRotation {
    type Output = RotationStarted;

    fn subject(&self) -> Option<String> {
        Some(self.uid.to_string())
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationStarted> {
        if self.done {
            return Step::Done(Err(after_finish()));
        }
        let step = match (&mut self.call, input) {
            (None, Input::Start) => {
                let mut call = Call::new(Method::POST, wire::paths::rotate(&self.uid));
                let step = call.send(&mut client.session, now);
                self.call = Some(call);
                step
            }
            (None, _) => return Step::Done(Err(out_of_order())),
            (Some(call), input) => call.on_input(&mut client.session, input, now, rng),
        };
        match pending(step) {
            Ok(step) => step,
            Err(result) => {
                self.done = true;
                Step::Done(started(result, &self.uid))
            }
        }
    }
}

impl Operation for RotateSecret {
    type Output = RotationOutcome;

    fn subject(&self) -> Option<String> {
        Some(self.uid.to_string())
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<RotationOutcome> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready => self.start(client, now, rng),
            State::Starting(mut call) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Starting(call);
                self.on_started(client, step, now, rng)
            }
            State::Polling(mut call) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Polling(call);
                self.on_polled(client, step, now, rng)
            }
            State::Waiting if self.revision > 0 => self.fetch(client, now, rng),
            State::Waiting => self.poll(client, now, rng),
            State::Fetching(mut get) => {
                let step = get.step(client, input, now, rng);
                self.state = State::Fetching(get);
                self.on_fetched(client, step, now)
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        if let State::Fetching(get) = &mut self.state {
            get.abandon(client);
        }
        self.state = State::Finished;
    }
}

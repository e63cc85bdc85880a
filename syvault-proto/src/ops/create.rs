//! Creating a secret.

use http::{Method, StatusCode};
use rand_core::CryptoRng;
use uuid::Uuid;

use super::{LoadFolders, Operation, after_finish, out_of_order, pending};
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::exchange::{self, Call};
use crate::model::Secret;
use crate::record::{self, RecordPayload, SealedRecord};
use crate::step::{Input, Response, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::{self, CreateSecretRequest, DataEnvelope, Record};

/// Creates a secret: the client draws the UID (it is bound into the ciphertext), encrypts the
/// payload under a fresh data key wrapped with the folder key, and posts it. A retried create
/// that meets `409 uid_conflict` reads the stored record and succeeds if the ciphertext is the
/// one it sent. It reports `uid_conflict` only when the read-back proves the UID another
/// record's; a read-back that settles nothing is repeated within the retry policy and then
/// reported as [`Error::CreateUnconfirmed`], never as a conflict, so that no caller creates a
/// second copy of a secret that exists. The new secret goes into the cache.
#[derive(Debug)]
pub struct CreateSecret {
    folder_id: Uuid,
    payload: RecordPayload,
    sealed: Option<(RecordUid, SealedRecord)>,
    state: State,
}

#[derive(Debug)]
enum State {
    Ready,
    LoadingFolders(LoadFolders),
    Posting(Call),
    /// Reading back the record after a 409 to a retry; `reads` counts the read-backs begun.
    Checking {
        call: Call,
        reads: u32,
    },
    Finished,
}

impl CreateSecret {
    /// Creates a secret with `payload` in folder `folder_id`, which the client may write to.
    pub fn new(folder_id: Uuid, payload: RecordPayload) -> Self {
        Self {
            folder_id,
            payload,
            sealed: None,
            state: State::Ready,
        }
    }

    fn post(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Secret> {
        let Some(folder_key) = client.folders.key(&self.folder_id) else {
            return self.finish(Err(Error::UnknownFolder {
                folder_id: self.folder_id,
            }));
        };
        let uid = RecordUid::generate(rng);
        let sealed = record::seal(&uid, folder_key, &self.payload, rng);
        let body = wire::to_body(&CreateSecretRequest {
            uid,
            folder_id: self.folder_id,
            encrypted_dek: wire::Base64Bytes(sealed.encrypted_dek.clone()),
            encrypted_data: wire::Base64Bytes(sealed.encrypted_data.clone()),
        });
        self.sealed = Some((uid, sealed));
        let mut call = Call::new(Method::POST, wire::paths::secrets().to_owned()).with_body(body);
        let step = call.send(&mut client.session, now);
        self.state = State::Posting(call);
        self.on_post(client, step, now, rng)
    }

    fn on_post(
        &mut self,
        client: &mut Client,
        step: Step<Response>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Secret> {
        let response = match pending(step) {
            Ok(step) => return step,
            Err(Ok(response)) => response,
            Err(Err(error)) => {
                let retried = matches!(&self.state, State::Posting(call) if call.attempts() > 1);
                let conflict =
                    matches!(&error, Error::Api(api) if api.code == ErrorCode::UidConflict);
                if retried && conflict {
                    return self.check_conflict(client, now, rng);
                }
                return self.finish(Err(error));
            }
        };
        let result = exchange::expect_status(&response, StatusCode::CREATED)
            .and_then(|()| exchange::parse::<DataEnvelope<Record>>(&response))
            .and_then(|envelope| self.accept(client, &envelope.data, now, rng));
        self.finish(result)
    }

    /// A 409 after a retry: the first attempt may have been stored before its answer was lost.
    fn check_conflict(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Secret> {
        let Some((uid, _)) = &self.sealed else {
            return self.finish(Err(out_of_order()));
        };
        let mut call = Call::get(wire::paths::secret(uid));
        let step = call.send(&mut client.session, now);
        self.state = State::Checking { call, reads: 1 };
        self.on_check(client, step, now, rng)
    }

    fn on_check(
        &mut self,
        client: &mut Client,
        step: Step<Response>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Secret> {
        let response = match pending(step) {
            Ok(step) => return step,
            Err(Ok(response)) => response,
            // Not visible to this client: the UID is another record's, in a folder it cannot
            // read. (The client reads every folder it can write to.)
            Err(Err(error)) if error.is_not_found() => return self.finish(Err(taken())),
            // The read-back's own retries are spent.
            Err(Err(error)) => return self.unconfirmed(error),
        };
        match self.judge(client, &response) {
            ReadBack::Ours(record) => {
                let result = self.accept(client, &record, now, rng);
                self.finish(result)
            }
            ReadBack::Theirs => self.finish(Err(taken())),
            ReadBack::Unsettled(error) => self.read_again(client, error, now, rng),
        }
    }

    /// Whose record the read-back shows.
    fn judge(&self, client: &Client, response: &Response) -> ReadBack {
        let record = match exchange::parse::<DataEnvelope<Record>>(response) {
            Ok(envelope) => envelope.data,
            Err(error) => return ReadBack::Unsettled(error),
        };
        let Some((uid, sealed)) = &self.sealed else {
            return ReadBack::Unsettled(out_of_order());
        };
        if record.encrypted_dek.as_slice() == sealed.encrypted_dek.as_slice()
            && record.encrypted_data.as_slice() == sealed.encrypted_data.as_slice()
        {
            return ReadBack::Ours(record);
        }
        // Only a record that opens under this UID proves the UID taken: a corrupted or
        // substituted answer does not open, and the secret may still be ours. A later revision
        // may be ours, changed by another writer since.
        let theirs = record.uid == *uid
            && record.revision == 1
            && client.folders.key(&record.folder_id).is_some_and(|key| {
                record::open(
                    uid,
                    key,
                    record.encrypted_dek.as_slice(),
                    record.encrypted_data.as_slice(),
                )
                .is_ok()
            });
        if theirs {
            ReadBack::Theirs
        } else {
            ReadBack::Unsettled(Error::malformed(
                response.status().as_u16(),
                "the record read back is neither the one sent nor another that opens",
            ))
        }
    }

    /// Reads the record back once more after a backoff, as the retry policy and budget allow.
    fn read_again(
        &mut self,
        client: &mut Client,
        error: Error,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Secret> {
        let (State::Checking { reads, .. }, Some((uid, _))) = (&self.state, &self.sealed) else {
            return self.finish(Err(out_of_order()));
        };
        let reads = *reads;
        let session = &mut client.session;
        if reads >= session.retry.max_attempts || !session.try_retry(now) {
            return self.unconfirmed(error);
        }
        let wait = session.retry.backoff(reads, None, rng);
        session.stats.retries += 1;
        self.state = State::Checking {
            call: Call::get(wire::paths::secret(uid)),
            reads: reads + 1,
        };
        Step::Sleep(now + wait)
    }

    fn unconfirmed(&mut self, last: Error) -> Step<Secret> {
        let Some((uid, _)) = &self.sealed else {
            return self.finish(Err(out_of_order()));
        };
        let error = Error::CreateUnconfirmed {
            uid: uid.to_string(),
            last: Box::new(last),
        };
        self.finish(Err(error))
    }

    fn accept(
        &self,
        client: &mut Client,
        stored: &Record,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Result<Secret> {
        let Some((uid, _)) = &self.sealed else {
            return Err(out_of_order());
        };
        if stored.uid != *uid || stored.folder_id != self.folder_id {
            return Err(Error::malformed(
                201,
                "the server stored another record than the one sent",
            ));
        }
        let secret =
            Secret::from_payload(*uid, self.folder_id, stored.revision, self.payload.clone());
        client.remember(std::sync::Arc::new(secret.clone()), None, now, rng);
        Ok(secret)
    }

    fn finish(&mut self, result: Result<Secret>) -> Step<Secret> {
        self.state = State::Finished;
        Step::Done(result)
    }
}

/// What a read-back after a 409 shows.
enum ReadBack {
    /// The record this create sent.
    Ours(Record),
    /// Another record that opens under the UID: the UID is taken.
    Theirs,
    /// Neither shown: the answer did not parse, or holds a record that does not open.
    Unsettled(Error),
}

/// The UID is another record's.
fn taken() -> Error {
    crate::error::ApiError::new(
        409,
        ErrorCode::UidConflict,
        "the UID is taken by another secret",
    )
    .into()
}

impl Operation for CreateSecret {
    type Output = Secret;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Secret> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready if client.folder_key_missing(&self.folder_id) => {
                let mut load = LoadFolders::new();
                let step = load.start(client, now);
                self.state = State::LoadingFolders(load);
                match pending(step) {
                    Ok(step) => step,
                    Err(Ok(())) => self.post(client, now, rng),
                    Err(Err(error)) => self.finish(Err(error)),
                }
            }
            State::Ready => self.post(client, now, rng),
            State::LoadingFolders(mut load) => {
                let step = load.step(client, input, now, rng);
                self.state = State::LoadingFolders(load);
                match pending(step) {
                    Ok(step) => step,
                    Err(Ok(())) => self.post(client, now, rng),
                    Err(Err(error)) => self.finish(Err(error)),
                }
            }
            State::Posting(mut call) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Posting(call);
                self.on_post(client, step, now, rng)
            }
            State::Checking { mut call, reads } => {
                // `Wake` after `read_again`'s sleep sends the fresh call.
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Checking { call, reads };
                self.on_check(client, step, now, rng)
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }
}

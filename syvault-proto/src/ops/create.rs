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
/// one it sent. The new secret goes into the cache.
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
    Checking(Call),
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
        self.state = State::Checking(call);
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
            Err(Err(error)) => return self.finish(Err(error)),
        };
        let result = exchange::parse::<DataEnvelope<Record>>(&response).and_then(|envelope| {
            let ours = self.sealed.as_ref().is_some_and(|(_, sealed)| {
                envelope.data.encrypted_dek.as_slice() == sealed.encrypted_dek.as_slice()
                    && envelope.data.encrypted_data.as_slice() == sealed.encrypted_data.as_slice()
            });
            if ours {
                self.accept(client, &envelope.data, now, rng)
            } else {
                Err(crate::error::ApiError::new(
                    409,
                    ErrorCode::UidConflict,
                    "the UID is taken by another secret",
                )
                .into())
            }
        });
        self.finish(result)
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
            State::Checking(mut call) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Checking(call);
                self.on_check(client, step, now, rng)
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }
}

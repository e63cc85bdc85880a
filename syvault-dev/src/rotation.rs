//! Server-side rotation: the policy of a secret and the worker that runs rotation jobs.
//!
//! A job goes `pending` → `running` → `completed` or `failed`, waiting the configured delay
//! before each step so tests can observe the intermediate states. The final step runs on the
//! admin side, which alone can decrypt: it regenerates the policy's field with the operating
//! system's CSPRNG and re-seals the record under a fresh data key as the next revision. A
//! failed rotation leaves the record untouched, as a rolled-back gateway would.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use syvault_proto::SecretString;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::admin::Admin;
use crate::error::{Error, Result};
use crate::random;

/// Letters, digits and a few symbols that need no quoting in shells, URLs or connection strings.
pub const DEFAULT_ALPHABET: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
/// The length of generated values unless the policy says otherwise.
pub const DEFAULT_LENGTH: usize = 32;
/// The longest value a policy may ask for.
pub const MAX_LENGTH: usize = 4096;

/// How a secret is rotated: which field gets a new random value, of what length and alphabet.
///
/// ```
/// use syvault_dev::RotationPolicy;
///
/// let policy = RotationPolicy::new("password").length(24).alphabet("abcdef0123456789");
/// assert_eq!(policy.field, "password");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RotationPolicy {
    /// The field whose value is regenerated; it must exist in the record.
    pub field: String,
    /// The number of characters of the new value.
    pub length: usize,
    /// The characters the new value is drawn from, uniformly.
    pub alphabet: String,
}

impl RotationPolicy {
    /// A policy for `field` with [`DEFAULT_LENGTH`] characters from [`DEFAULT_ALPHABET`].
    pub fn new(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            length: DEFAULT_LENGTH,
            alphabet: DEFAULT_ALPHABET.to_owned(),
        }
    }

    /// Sets the length of the new value.
    #[must_use]
    pub fn length(mut self, length: usize) -> Self {
        self.length = length;
        self
    }

    /// Sets the characters of the new value.
    #[must_use]
    pub fn alphabet(mut self, alphabet: impl Into<String>) -> Self {
        self.alphabet = alphabet.into();
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.field.is_empty() {
            return Err(Error::InvalidPolicy("the field name is empty"));
        }
        if self.length == 0 || self.length > MAX_LENGTH {
            return Err(Error::InvalidPolicy("the length must be from 1 to 4096"));
        }
        let mut chars: Vec<char> = self.alphabet.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        if chars.len() < 2 {
            return Err(Error::InvalidPolicy(
                "the alphabet needs at least two distinct characters",
            ));
        }
        Ok(())
    }

    /// A new value: `length` characters drawn uniformly from the distinct characters of the
    /// alphabet.
    pub(crate) fn generate(&self) -> SecretString {
        let mut chars: Vec<char> = self.alphabet.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let value: String = (0..self.length)
            .filter_map(|_| chars.get(random::below(chars.len())))
            .collect();
        SecretString::new(value)
    }
}

/// Runs rotation jobs received on `jobs`, each in its own task, until `shutdown` flips.
pub(crate) fn spawn_worker(
    admin: Admin,
    mut jobs: mpsc::UnboundedReceiver<Uuid>,
    delay: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running = JoinSet::new();
        loop {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(rotation_id) => {
                        let admin = admin.clone();
                        running.spawn(run_job(admin, rotation_id, delay));
                    }
                    None => break,
                },
                _ = shutdown.changed() => break,
                Some(_) = running.join_next() => {}
            }
        }
        // Unfinished jobs stay pending in the state and are resumed by the next start.
        running.abort_all();
    })
}

async fn run_job(admin: Admin, rotation_id: Uuid, delay: Duration) {
    tokio::time::sleep(delay).await;
    if admin.start_rotation(rotation_id) {
        tokio::time::sleep(delay).await;
        if !admin.rotate_on_postgres(rotation_id).await {
            admin.finish_rotation(rotation_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_follow_the_policy() {
        let policy = RotationPolicy::new("password").length(64).alphabet("ab");
        let value = policy.generate();
        assert_eq!(value.expose().len(), 64);
        assert!(value.expose().chars().all(|c| c == 'a' || c == 'b'));
        assert!(value.expose().contains('a') && value.expose().contains('b'));
        assert_ne!(policy.generate(), value);
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(RotationPolicy::new("").validate().is_err());
        assert!(RotationPolicy::new("p").length(0).validate().is_err());
        assert!(
            RotationPolicy::new("p")
                .length(MAX_LENGTH + 1)
                .validate()
                .is_err()
        );
        assert!(
            RotationPolicy::new("p")
                .alphabet("aaaa")
                .validate()
                .is_err()
        );
        assert!(RotationPolicy::new("p").validate().is_ok());
    }
}

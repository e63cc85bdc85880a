//! Endpoint paths below the server URL, such as `/api/sm/v1/secrets/7Kj9mNpQ2xRs`.
//!
//! Every path starts with [`API_BASE`](super::API_BASE). Path parameters are record UIDs
//! (letters and digits) and UUIDs, so no escaping is ever needed.

use uuid::Uuid;

use super::ListQuery;
use crate::uid::RecordUid;

/// `POST`: bootstrap a client with a one-time token.
pub fn bootstrap() -> &'static str {
    "/api/sm/v1/bootstrap"
}

/// `PUT`: upload the folder keys wrapped to the client's own key.
pub fn folder_keys() -> &'static str {
    "/api/sm/v1/folder-keys"
}

/// `GET`: the folders the client has a grant on.
pub fn folders() -> &'static str {
    "/api/sm/v1/folders"
}

/// `GET`: list secrets (see [`secrets_query`]); `POST`: create a secret.
pub fn secrets() -> &'static str {
    "/api/sm/v1/secrets"
}

/// `GET`: the secrets listing with its query string, when there is one.
///
/// ```
/// use syvault_proto::wire::{ListQuery, paths};
///
/// assert_eq!(paths::secrets_query(&ListQuery::default()), "/api/sm/v1/secrets");
/// let query = ListQuery { limit: Some(10), ..ListQuery::default() };
/// assert_eq!(paths::secrets_query(&query), "/api/sm/v1/secrets?limit=10");
/// ```
pub fn secrets_query(query: &ListQuery) -> String {
    let params = query.to_query_string();
    if params.is_empty() {
        secrets().to_owned()
    } else {
        format!("{}?{params}", secrets())
    }
}

/// `GET`: one secret.
///
/// ```
/// use syvault_proto::wire::paths;
///
/// let uid = "7Kj9mNpQ2xRs".parse()?;
/// assert_eq!(paths::secret(&uid), "/api/sm/v1/secrets/7Kj9mNpQ2xRs");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
pub fn secret(uid: &RecordUid) -> String {
    format!("{}/{uid}", secrets())
}

/// `POST`: start rotating a secret.
pub fn rotate(uid: &RecordUid) -> String {
    format!("{}/{uid}/rotate", secrets())
}

/// `GET`: the state of a rotation.
pub fn rotation(rotation_id: &Uuid) -> String {
    // `Uuid`'s Display is the lowercase hyphenated form.
    format!("/api/sm/v1/rotations/{rotation_id}")
}

/// `POST`: take a lease on a dynamic target.
pub fn dynamic_lease() -> &'static str {
    "/api/sm/v1/dynamic/lease"
}

/// `GET`: this client's active leases.
pub fn dynamic_leases() -> &'static str {
    "/api/sm/v1/dynamic/leases"
}

/// `DELETE`: revoke a lease.
///
/// ```
/// use syvault_proto::wire::paths;
///
/// let id = uuid::Uuid::nil();
/// assert_eq!(paths::lease(&id), "/api/sm/v1/dynamic/leases/00000000-0000-0000-0000-000000000000");
/// ```
pub fn lease(lease_id: &Uuid) -> String {
    format!("{}/{lease_id}", dynamic_leases())
}

/// `POST`: renew a lease.
pub fn lease_renew(lease_id: &Uuid) -> String {
    format!("{}/{lease_id}/renew", dynamic_leases())
}

#[cfg(test)]
mod tests {
    use super::super::API_BASE;
    use super::*;

    #[test]
    fn paths_sit_below_the_base() {
        let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
        let id: Uuid = "0B6F5F4E-8A53-4A8E-9A4C-2F7D1C3E5B60".parse().unwrap();
        let all = [
            bootstrap().to_owned(),
            folder_keys().to_owned(),
            folders().to_owned(),
            secrets().to_owned(),
            secret(&uid),
            rotate(&uid),
            rotation(&id),
        ];
        for path in &all {
            assert!(path.starts_with(&format!("{API_BASE}/")), "{path}");
        }
        assert_eq!(rotate(&uid), "/api/sm/v1/secrets/7Kj9mNpQ2xRs/rotate");
        assert_eq!(
            rotation(&id),
            "/api/sm/v1/rotations/0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60"
        );
    }
}

//! Configuring a [`AsyncSyVaultClient`]: the core's [`ClientBuilder`], finished by this driver.

use syvault_proto::builder::{ClientBuilder, FromConfig, TransportSettings};
use syvault_proto::config::ClientConfig;
use syvault_proto::{Client, Result};

use crate::AsyncSyVaultClient;
use crate::transport::Transport;

/// Builds a [`AsyncSyVaultClient`]: server, client id and client secret (set one by one, from
/// credentials, credentials JSON or the environment), cache, retry, rotation and token
/// settings, timeouts and extra trusted CAs. See [`ClientBuilder`] for every setting and its
/// default.
///
/// ```
/// use std::time::Duration;
/// use syvault_hyper::AsyncSyVaultClient;
///
/// let json = r#"{"server":"https://vault.example.com","client_id":"5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17","client_secret":"MIGH"}"#;
/// let builder = AsyncSyVaultClient::builder()
///     .credentials_json(json)?
///     .cache_ttl(Duration::from_secs(30))
///     .max_stale(Duration::from_secs(600))
///     .request_timeout(Duration::from_secs(10));
/// // `build()` checks the client secret: this one is not a key.
/// assert!(matches!(builder.build(), Err(syvault_hyper::Error::InvalidKey { .. })));
/// # Ok::<(), syvault_hyper::Error>(())
/// ```
pub type AsyncSyVaultClientBuilder = ClientBuilder<AsyncSyVaultClient>;

impl FromConfig for AsyncSyVaultClient {
    fn from_config(config: ClientConfig, transport: TransportSettings) -> Result<Self> {
        let snapshot = config.snapshot_file.clone();
        let mut core = Client::new(config)?;
        let transport = Transport::new(&transport, core.max_response_body())?;
        if let Some(path) = &snapshot {
            crate::snapshot::load(&mut core, path);
        }
        Ok(Self::from_parts(core, transport, snapshot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_bad_extra_ca_is_refused_at_build() {
        let secret =
            syvault_proto::keys::ClientKey::generate(&mut crate::driver::rng()).to_client_secret();
        let result = AsyncSyVaultClientBuilder::new()
            .server("https://vault.example.com")
            .client_id(Uuid::nil())
            .client_secret(secret)
            .add_root_certificates_pem(
                "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
            )
            .build();
        assert!(result.is_err());
    }
}

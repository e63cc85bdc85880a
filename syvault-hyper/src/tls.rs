//! The client's TLS as hyper takes it: the trust and identity of [`syvault_tls::ClientTls`]
//! (checked when the client is built) turned into a TLS connector when the first https
//! connection needs one, which is when the trust store is read. There is no way to turn
//! verification off.

use std::error::Error as StdError;
use std::sync::OnceLock;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use syvault_proto::Error;
use syvault_tls::ClientTls;

use crate::proxy::ProxyConnector;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A client's TLS, and the connector made from it at its first https connection.
pub(crate) struct LazyTls {
    tls: ClientTls,
    /// The connector, or why it could not be made (which the checks when the client was built
    /// leave no room for).
    https: OnceLock<Result<HttpsConnector<ProxyConnector>, String>>,
}

impl LazyTls {
    pub(crate) fn new(tls: ClientTls) -> Self {
        Self {
            tls,
            https: OnceLock::new(),
        }
    }

    /// The TLS connector over `tcp`, made now if it has not been yet: rustls on *ring* with
    /// the trust store (read then, if no client of the process has yet) and the extra CAs,
    /// HTTP/1.1 only.
    pub(crate) fn connector(
        &self,
        tcp: &ProxyConnector,
    ) -> Result<HttpsConnector<ProxyConnector>, BoxError> {
        self.https
            .get_or_init(|| {
                let config = self
                    .tls
                    .rustls_config()
                    .map_err(|error| error.to_string())?;
                Ok(HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_only()
                    .enable_http1()
                    .wrap_connector(tcp.clone()))
            })
            .clone()
            .map_err(Into::into)
    }

    /// Adds the likely cause to a TLS failure (see [`ClientTls::explain_untrusted`]).
    pub(crate) fn explain_untrusted(&self, error: Error) -> Error {
        self.tls.explain_untrusted(error)
    }
}

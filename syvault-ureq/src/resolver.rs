//! Name resolution that needs no thread for a server written as an IP address.
//!
//! With a request timeout set, ureq's default resolver runs every lookup on a thread of its
//! own so that it can give up in time, and it resolves before looking for a pooled connection:
//! every request paid a thread spawn, even to `127.0.0.1` over a kept-alive connection. An IP
//! literal needs no lookup, so it is answered directly; host names still go to the default
//! resolver and its timeout.

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// IP literals directly, host names through ureq's default resolver.
#[derive(Debug, Default)]
pub(crate) struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal(uri) {
            Some(address) => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP address, with the scheme's default port.
fn literal(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let ip: IpAddr = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_resolve_without_a_lookup_and_names_do_not() {
        let cases = [
            ("http://127.0.0.1:8200/x", Some("127.0.0.1:8200")),
            ("https://10.1.2.3/", Some("10.1.2.3:443")),
            ("http://[::1]:9000", Some("[::1]:9000")),
            ("http://[::1]", Some("[::1]:80")),
            ("https://vault.example.com", None),
            ("http://localhost:1", None),
        ];
        for (uri, expected) in cases {
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(literal(&uri), expected.map(|a| a.parse().unwrap()), "{uri}");
        }
    }
}

//! The plain-http rule for a host that cannot see the address it reached.
//!
//! The native clients send plain `http` to a loopback *name* only over a connection whose peer
//! they checked is a loopback address (protocol §3). A WebAssembly module sends through the
//! host's `fetch`, which never says where it connected, so a name such as `vault.localhost`
//! would go wherever the host's resolver sends it, bearer token included. Without the
//! caller's explicit opt-in, plain `http` is therefore allowed only to `localhost` (which hosts
//! files, browsers and JavaScript runtimes map to a loopback address) and to literal loopback
//! addresses (`127.0.0.0/8`, `[::1]`).

use syvault_proto::Result;

/// Checks `server` against the rule above; `allow_plain_http` lifts it. Anything else about
/// the URL is the core's to check.
pub fn check_plain_http(server: &str, allow_plain_http: bool) -> Result<()> {
    if allow_plain_http {
        return Ok(());
    }
    let Ok(uri) = server.trim().parse::<http::Uri>() else {
        // The core refuses it with its own reason.
        return Ok(());
    };
    let plain = uri
        .scheme_str()
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http"));
    if !plain || uri.host().is_some_and(is_literal_loopback) {
        return Ok(());
    }
    Err(crate::convert::invalid_input(
        "server URL",
        "plain http is only allowed to localhost and literal loopback addresses (127.0.0.0/8, \
         [::1]) unless allowPlainHttp is set: a WebAssembly host cannot check where a name \
         resolved",
    ))
}

/// `localhost` itself, or a loopback IP address written out (IPv6 in brackets).
fn is_literal_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let address = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    address
        .parse::<core::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syvault_proto::Error;

    #[test]
    fn plain_http_goes_to_localhost_and_loopback_literals_only() {
        for ok in [
            "http://localhost:8200",
            "http://LOCALHOST",
            "http://127.0.0.1:8200",
            "http://127.9.8.7/vault",
            "http://[::1]:8200/",
            "https://vault.example.com",
            "https://vault.localhost",
        ] {
            assert!(check_plain_http(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://vault.localhost:8200",
            "http://localhost.:8200",
            "http://localhost.example.com",
            "http://vault.example.com",
            "http://10.0.0.1:8200",
            "http://[::ffff:127.0.0.1]:8200",
            "http://0.0.0.0:8200",
        ] {
            let error = check_plain_http(refused, false).unwrap_err();
            assert!(
                matches!(
                    error,
                    Error::InvalidInput {
                        what: "server URL",
                        ..
                    }
                ),
                "{refused}: {error}"
            );
            assert!(check_plain_http(refused, true).is_ok(), "{refused}");
        }
    }
}

//! Scenarios of clients configured by environment variables alone (`from_env()`), each run in
//! a child process (see [`crate::child`]). `module` is the test module of the client, whose
//! `child_lists_from_env` entry point the child runs.

use crate::child::{self, Outcome};
use crate::proxy::ConnectProxy;
use crate::sdk::Sdk;
use crate::vault::Vault;

fn text(path: &std::path::Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// A TLS server bootstrapped with its CA given explicitly; its credentials file.
fn bootstrapped<S: Sdk>(vault: &Vault) -> String {
    let credentials = S::bootstrap(&vault.url(), vault.client.token.expose(), &vault.settings())
        .expect("bootstrap");
    text(&vault.save(&credentials))
}

fn failed(outcome: Outcome) -> String {
    match outcome {
        Outcome::Failed(error) => error,
        Outcome::Listed(n) => panic!("expected a failure, listed {n}"),
    }
}

/// The OS trust store: `rustls-native-certs` reads the platform's store, and on every
/// platform reads `SSL_CERT_FILE` instead when it is set. Pointing it at the development CA,
/// with nothing else trusted, is installing that CA into the test environment's store; the
/// client then trusts the server without any CA configured in code. With an empty store, or
/// one holding another CA, the same client refuses the server with a TLS error.
pub fn os_trust_store_from_ssl_cert_file<S: Sdk>(module: &str) {
    let vault = Vault::start_tls();
    let credentials = bootstrapped::<S>(&vault);
    let empty = tempfile::tempdir().expect("an empty certificate directory");
    let trusted = child::run(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials.clone()),
            ("SSL_CERT_FILE", text(&vault.ca_file())),
        ],
    );
    assert_eq!(trusted, Outcome::Listed(3));

    let untrusted = failed(child::run(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials.clone()),
            ("SSL_CERT_DIR", text(empty.path())),
        ],
    ));
    assert!(untrusted.contains("transport error (tls)"), "{untrusted}");
    assert!(
        untrusted.contains("no CA certificate is trusted"),
        "an empty store is named as the likely cause: {untrusted}"
    );

    // A store holding another CA: refused too, without the empty-store hint.
    let other = Vault::start_tls();
    let stranger = failed(child::run(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials),
            ("SSL_CERT_FILE", text(&other.ca_file())),
        ],
    ));
    assert!(stranger.contains("transport error (tls)"), "{stranger}");
    assert!(!stranger.contains("no CA certificate"), "{stranger}");
}

/// The OS trust store is read at a client's first TLS connection, and never by a client of a
/// plain-http loopback server, however broken the store; a store that cannot be read is named
/// when a TLS connection fails for want of a trusted CA.
pub fn trust_store_read_at_the_first_tls_connection<S: Sdk>(module: &str) {
    let plain = Vault::start();
    let missing = plain.dir().join("no-such-bundle.pem");
    let unreadable = ("SSL_CERT_FILE", text(&missing));
    let credentials = bootstrapped::<S>(&plain);
    let (outcome, read) = child::run_reporting_store(
        module,
        &[("SY_CREDENTIALS_FILE", credentials), unreadable.clone()],
    );
    assert_eq!(outcome, Outcome::Listed(3));
    assert!(
        !read,
        "a client of a plain-http server read the trust store"
    );

    let tls = Vault::start_tls();
    let credentials = bootstrapped::<S>(&tls);
    let (outcome, read) = child::run_reporting_store(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials.clone()),
            ("SY_CA_CERT", text(&tls.ca_file())),
            unreadable.clone(),
        ],
    );
    assert_eq!(outcome, Outcome::Listed(3));
    assert!(read, "a TLS client did not read the trust store");

    let error = failed(child::run(
        module,
        &[("SY_CREDENTIALS_FILE", credentials), unreadable],
    ));
    assert!(error.contains("transport error (tls)"), "{error}");
    assert!(error.contains("no CA certificate is trusted"), "{error}");
    assert!(
        error.contains(&text(&missing)),
        "names the store's file: {error}"
    );
}

/// `SY_CREDENTIALS_FILE` and `SY_CA_CERT` configure a client completely; a missing file is
/// named in the error; the file and the single variables together are refused.
pub fn credentials_file_and_ca_from_env<S: Sdk>(module: &str) {
    let vault = Vault::start_tls();
    let credentials = bootstrapped::<S>(&vault);
    let empty = tempfile::tempdir().expect("an empty certificate directory");
    let no_store = ("SSL_CERT_DIR", text(empty.path()));
    let outcome = child::run(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials.clone()),
            ("SY_CA_CERT", text(&vault.ca_file())),
            no_store.clone(),
        ],
    );
    assert_eq!(outcome, Outcome::Listed(3));

    let missing = vault.dir().join("missing.json");
    let error = failed(child::run(
        module,
        &[("SY_CREDENTIALS_FILE", text(&missing)), no_store.clone()],
    ));
    assert!(error.contains(&text(&missing)), "names the path: {error}");
    assert!(error.contains("File {"), "a file error: {error}");

    let missing_ca = vault.dir().join("missing-ca.pem");
    let error = failed(child::run(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials.clone()),
            ("SY_CA_CERT", text(&missing_ca)),
        ],
    ));
    assert!(
        error.contains(&text(&missing_ca)),
        "names the path: {error}"
    );

    let error = failed(child::run(
        module,
        &[
            ("SY_CREDENTIALS_FILE", credentials),
            ("SY_CLIENT_SECRET", "MIGH-not-used".to_owned()),
        ],
    ));
    assert!(error.contains("SY_CREDENTIALS_FILE"), "{error}");
    assert!(!error.contains("MIGH-not-used"), "{error}");
}

/// `HTTPS_PROXY`, `https_proxy` and `ALL_PROXY` send the client through the proxy with the
/// credentials of the URL; `NO_PROXY` and `no_proxy` bypass it; a malformed proxy variable is
/// named without its password.
pub fn proxies_from_env<S: Sdk>(module: &str) {
    const PASSWORD: &str = "s3cret pass";
    let vault = Vault::start_tls();
    let credentials = bootstrapped::<S>(&vault);
    let proxy = ConnectProxy::start(Some(("ci", PASSWORD)));
    let url = proxy.url_with_credentials("ci", PASSWORD);
    let base = [
        ("SY_CREDENTIALS_FILE", credentials),
        ("SY_CA_CERT", text(&vault.ca_file())),
    ];
    let run = |extra: &[(&str, String)]| {
        let vars: Vec<_> = base.iter().cloned().chain(extra.iter().cloned()).collect();
        child::run(module, &vars)
    };

    for variable in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        let before = proxy.tunnels();
        assert_eq!(
            run(&[(variable, url.clone())]),
            Outcome::Listed(3),
            "{variable}"
        );
        // At least one tunnel: a pool may open a second connection when a request starts
        // before the previous one's connection is back in the pool.
        assert!(proxy.tunnels() > before, "{variable} tunnelled");
    }
    assert_eq!(proxy.refused(), 0);
    assert!(proxy.authorizations().iter().all(Option::is_some));

    let before = proxy.tunnels();
    for (variable, list) in [("NO_PROXY", "example.com, localhost"), ("no_proxy", "*")] {
        let outcome = run(&[("HTTPS_PROXY", url.clone()), (variable, list.to_owned())]);
        assert_eq!(outcome, Outcome::Listed(3), "{variable}");
    }
    assert_eq!(proxy.tunnels(), before, "NO_PROXY bypassed the proxy");

    let plain_http_only = run(&[("HTTP_PROXY", url.clone())]);
    assert_eq!(plain_http_only, Outcome::Listed(3));
    assert_eq!(proxy.tunnels(), before, "HTTP_PROXY is for http:// only");

    let error = failed(run(&[(
        "HTTPS_PROXY",
        format!("socks5://ci:{PASSWORD}@127.0.0.1:1"),
    )]));
    assert!(error.contains("HTTPS_PROXY"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
}

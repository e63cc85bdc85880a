//! Both clients restarted with an encrypted snapshot while the vault cannot be reached, over
//! real TCP against `syvault-dev`: reads of what they had read succeed within `max_stale` and
//! fail with a clear error after it; a snapshot of another client, or altered by one bit, is
//! refused; the vault's first answer replaces what the snapshot held.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use syvault_dev::Fault;
use syvault_dev::wire::Access;
use syvault_proto::model::Credentials;
use syvault_tests::vault::{DB_PASSWORD, Vault};

const REFERENCE: &str = "sy://Production/Database/field/password";
const TTL: Duration = Duration::from_secs(1);
const MAX_STALE: Duration = Duration::from_secs(4);

/// One client type, as these scenarios use it.
trait Client: Sized {
    fn build(credentials: &Credentials, snapshot: &Path) -> Self;
    fn notation(&self, reference: &str) -> syvault_proto::Result<String>;
    fn get_password(&self, uid: &str) -> syvault_proto::Result<String>;
    fn stale_serves(&self) -> u64;
}

struct Blocking(syvault_ureq::SyVaultClient);

impl Client for Blocking {
    fn build(credentials: &Credentials, snapshot: &Path) -> Self {
        Self(
            syvault_ureq::SyVaultClient::builder()
                .credentials(credentials.clone())
                .cache_ttl(TTL)
                .max_stale(MAX_STALE)
                .snapshot(snapshot)
                .snapshot_debounce(Duration::from_millis(50))
                .retry(syvault_proto::retry::RetryPolicy::default().with_max_attempts(1))
                .build()
                .expect("client"),
        )
    }

    fn notation(&self, reference: &str) -> syvault_proto::Result<String> {
        Ok(self.0.secrets().notation(reference)?.expose().to_owned())
    }

    fn get_password(&self, uid: &str) -> syvault_proto::Result<String> {
        let secret = self.0.secrets().get(uid)?;
        Ok(secret
            .field("password")
            .expect("a password")
            .expose()
            .to_owned())
    }

    fn stale_serves(&self) -> u64 {
        self.0.stats().stale_serves
    }
}

struct Async(syvault_hyper::AsyncSyVaultClient, tokio::runtime::Runtime);

impl Client for Async {
    fn build(credentials: &Credentials, snapshot: &Path) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let client = runtime.block_on(async {
            syvault_hyper::AsyncSyVaultClient::builder()
                .credentials(credentials.clone())
                .cache_ttl(TTL)
                .max_stale(MAX_STALE)
                .snapshot(snapshot)
                .snapshot_debounce(Duration::from_millis(50))
                .retry(syvault_proto::retry::RetryPolicy::default().with_max_attempts(1))
                .build()
                .expect("client")
        });
        Self(client, runtime)
    }

    fn notation(&self, reference: &str) -> syvault_proto::Result<String> {
        let value = self.1.block_on(self.0.secrets().notation(reference))?;
        Ok(value.expose().to_owned())
    }

    fn get_password(&self, uid: &str) -> syvault_proto::Result<String> {
        let secret = self.1.block_on(self.0.secrets().get(uid))?;
        Ok(secret
            .field("password")
            .expect("a password")
            .expose()
            .to_owned())
    }

    fn stale_serves(&self) -> u64 {
        self.0.stats().stale_serves
    }
}

/// Bootstraps a client of the vault, granted `Production`.
fn credentials(vault: &Vault, name: &str) -> Credentials {
    let new = vault
        .admin
        .create_client(vault.application, name)
        .expect("client");
    vault
        .admin
        .grant(new.client_id, vault.production, Access::Read)
        .expect("grant");
    syvault_ureq::SyVaultClient::bootstrap(&vault.url(), new.token.expose()).expect("bootstrap")
}

/// Waits until the client has written its snapshot.
fn written(path: &Path) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            return bytes;
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot written at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn vault_down(vault: &Vault) {
    vault
        .faults()
        .inject(Fault::drop_connection().times(1_000_000));
}

fn restarted_during_an_outage<C: Client>() {
    let vault = Vault::start();
    let credentials = credentials(&vault, "orders");
    let path: PathBuf = vault.dir().join("orders.snapshot");
    let fetched = Instant::now();
    {
        let client = C::build(&credentials, &path);
        assert_eq!(client.notation(REFERENCE).unwrap(), DB_PASSWORD);
        assert_eq!(
            client.get_password(vault.database.as_str()).unwrap(),
            DB_PASSWORD
        );
        written(&path);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let snapshot = std::fs::read(&path).unwrap();
    assert!(
        !snapshot
            .windows(DB_PASSWORD.len())
            .any(|w| w == DB_PASSWORD.as_bytes()),
        "the snapshot is encrypted"
    );

    vault_down(&vault);
    let restarted = C::build(&credentials, &path);
    assert_eq!(restarted.notation(REFERENCE).unwrap(), DB_PASSWORD);
    assert_eq!(
        restarted.get_password(vault.database.as_str()).unwrap(),
        DB_PASSWORD
    );
    assert!(restarted.stale_serves() >= 2);

    // Another client's configuration with this client's snapshot: nothing is served.
    let other = credentials_copy(&vault, &path);
    let error = other.notation(REFERENCE).unwrap_err();
    assert!(error.is_retryable(), "the outage's error: {error}");

    // One bit flipped: refused.
    let mut tampered = snapshot.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    let tampered_path = vault.dir().join("tampered.snapshot");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let client = C::build(&credentials, &tampered_path);
    assert!(
        client.notation(REFERENCE).is_err(),
        "a tampered snapshot serves nothing"
    );

    // Past max_stale after the original fetch: a clear error.
    let window = TTL + MAX_STALE;
    std::thread::sleep(window.saturating_sub(fetched.elapsed()) + Duration::from_millis(200));
    let error = restarted.notation(REFERENCE).unwrap_err();
    assert!(
        matches!(error, syvault_proto::Error::Transport { .. }),
        "{error:?}"
    );
    let late = C::build(&credentials, &path);
    assert!(late.notation(REFERENCE).is_err());

    // The vault is back: its answer is served.
    vault.faults().clear();
    assert_eq!(late.notation(REFERENCE).unwrap(), DB_PASSWORD);
}

/// A second client of the vault configured with the first one's snapshot file.
fn credentials_copy(vault: &Vault, snapshot: &Path) -> Blocking {
    vault.faults().clear();
    let other = credentials(vault, "another");
    vault_down(vault);
    let copy = vault.dir().join("copied.snapshot");
    std::fs::copy(snapshot, &copy).unwrap();
    Blocking::build(&other, &copy)
}

#[test]
fn a_blocking_client_restarted_during_an_outage_serves_what_it_had_read() {
    restarted_during_an_outage::<Blocking>();
}

#[test]
fn an_async_client_restarted_during_an_outage_serves_what_it_had_read() {
    restarted_during_an_outage::<Async>();
}

#[test]
fn a_closed_client_writes_no_emptied_snapshot() {
    let vault = Vault::start();
    let credentials = credentials(&vault, "orders");
    let path = vault.dir().join("closed.snapshot");
    let client = Blocking::build(&credentials, &path);
    client.notation(REFERENCE).unwrap();
    client.0.write_snapshot().unwrap();
    let before = written(&path);
    let taken = client.0.snapshot_taken_at().expect("written");
    client.0.close();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(client.0.snapshot_taken_at(), Some(taken));
}

//! Files only their owner may read: credentials and other secrets at rest (feature `fs`).
//!
//! A credentials file holds the client's private key, so it is written the way a careful
//! operator would by hand: a fresh temporary file with a random name in the destination's
//! directory, created exclusively (a planted file or symlink makes creation fail and another
//! name is tried, never followed), mode 0600 on Unix from the first byte, flushed to disk, then
//! renamed over the destination. Renaming replaces a symlink at the destination rather than
//! writing through it, and a crash leaves the old file or the new one, never a mix.
//!
//! The client's encrypted snapshot (docs/protocol.md §12.10) is kept the same way:
//! [`load_snapshot`] reads one into a client when it is built, [`write_snapshot`] writes one.
//!
//! This is the one module of the crate that touches the file system; it exists only with the
//! `fs` feature, which the drivers, the CLI and the dev server enable.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::client::Client;
use crate::error::{Error, FileAction, Result};
use crate::model::Credentials;
use crate::snapshot::{Restored, SnapshotJob};
use crate::time::Timestamp;

/// What [`write()`] does when the destination already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Existing {
    /// Atomically replace it.
    Replace,
    /// Leave it alone and fail with [`io::ErrorKind::AlreadyExists`].
    Keep,
}

/// Writes `bytes` to `path` atomically, readable by the owner only (0600 on Unix).
///
/// ```
/// use syvault_proto::private_file::{self, Existing};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("key.pem");
/// private_file::write(&path, b"secret", Existing::Keep)?;
/// let again = private_file::write(&path, b"other", Existing::Keep).unwrap_err();
/// assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write(path: &Path, bytes: &[u8], existing: Existing) -> io::Result<()> {
    write_via(path, bytes, existing, ".syvault-")
}

/// [`write`] through a temporary file whose name starts with `prefix`.
fn write_via(path: &Path, bytes: &[u8], existing: Existing, prefix: &str) -> io::Result<()> {
    let dir = parent(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    match existing {
        Existing::Replace => temp.persist(path).map_err(|e| e.error)?,
        Existing::Keep => temp.persist_noclobber(path).map_err(|e| e.error)?,
    };
    // Persist the rename itself; not every platform can open a directory, hence best effort.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The directory of `path`: its parent, or the current directory.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Reads a whole file into memory that is zeroized when dropped.
pub fn read(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut file = File::open(path)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a UTF-8 text file, such as a PEM file of CA certificates, for the builder's
/// `SY_CA_CERT`. Errors name the path.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, FileAction::Read, e))?;
    String::from_utf8(bytes).map_err(|_| Error::invalid_input("PEM file", "not UTF-8 text"))
}

impl Credentials {
    /// Stores the credentials at `path` as JSON, atomically and readable by the owner only,
    /// replacing any file already there.
    ///
    /// ```
    /// use syvault_proto::model::Credentials;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("syvault.json");
    /// let credentials = Credentials::from_json(
    ///     r#"{"server":"https://vault.example.com","client_id":"5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17","client_secret":"MIGH"}"#,
    /// )?;
    /// credentials.write_to(&path)?;
    /// assert_eq!(Credentials::read_from(&path)?, credentials);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write(path.as_ref(), Existing::Replace)
    }

    /// Like [`Credentials::write_to`], but fails with [`Error::File`] (whose source is an
    /// [`io::ErrorKind::AlreadyExists`] error) instead of replacing an existing file.
    pub fn write_new(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write(path.as_ref(), Existing::Keep)
    }

    fn write(&self, path: &Path, existing: Existing) -> Result<()> {
        let json = self.to_json();
        write(path, json.as_bytes(), existing).map_err(|e| file_error(path, FileAction::Write, e))
    }

    /// Reads credentials JSON from `path`, as [`Credentials::write_to`] and `syvault-dev
    /// --credentials` store it. A file that cannot be read is an [`Error::File`] naming the
    /// path; one that is not credentials is an [`Error::InvalidInput`].
    pub fn read_from(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read(path).map_err(|e| file_error(path, FileAction::Read, e))?;
        let json = core::str::from_utf8(&bytes)
            .map_err(|_| Error::invalid_input("credentials", "the file is not UTF-8 text"))?;
        Self::from_json(json)
    }
}

/// The largest snapshot file read: far beyond what a cache of the default size writes.
const MAX_SNAPSHOT: u64 = 1 << 30;

/// What [`load_snapshot`] found.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotLoad {
    /// The snapshot was read and its content taken.
    Restored(Restored),
    /// There is no snapshot yet.
    Absent,
    /// The file could not be read or was refused (corrupt, truncated, another client's or
    /// server's, another format version, too old): the client goes on without it. The reason
    /// names the file, never its content.
    Ignored(String),
}

/// Reads the snapshot at `path` into `client`, as a driver does when it builds a client with
/// `snapshot(path)`. Never an error: a snapshot that cannot be used is ignored with a warning
/// event, and the client starts without it.
///
/// ```
/// use syvault_proto::private_file::{self, SnapshotLoad};
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let secret = syvault_proto::keys::ClientKey::generate(&mut rng).to_client_secret();
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("syvault.snapshot");
/// let mut client = syvault_proto::Client::builder()
///     .server("https://vault.example.com")
///     .client_id(uuid::Uuid::nil())
///     .client_secret(secret)
///     .snapshot(&path)
///     .build()?;
/// let now = syvault_proto::Timestamp::from_unix_secs(1_700_000_000);
/// assert!(matches!(private_file::load_snapshot(&mut client, &path, now), SnapshotLoad::Absent));
/// std::fs::write(&path, b"not a snapshot")?;
/// assert!(matches!(private_file::load_snapshot(&mut client, &path, now), SnapshotLoad::Ignored(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_snapshot(client: &mut Client, path: &Path, now: Timestamp) -> SnapshotLoad {
    remove_abandoned(path);
    let bytes = match read_limited(path, MAX_SNAPSHOT) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            crate::trace::event!(debug, path = %path.display(), "no snapshot yet");
            return SnapshotLoad::Absent;
        }
        Err(error) => {
            let reason = format!("cannot read {}: {error}", path.display());
            crate::trace::event!(warn, %reason, "snapshot ignored");
            return SnapshotLoad::Ignored(reason);
        }
    };
    match client.restore_snapshot(&bytes, now) {
        Ok(restored) => {
            crate::trace::event!(
                info,
                path = %path.display(),
                entries = restored.entries,
                expired = restored.expired,
                "snapshot loaded: its entries are served only stale until the vault answers"
            );
            SnapshotLoad::Restored(restored)
        }
        Err(error) => {
            let reason = format!("{}: {error}", path.display());
            crate::trace::event!(warn, %reason, "snapshot ignored");
            SnapshotLoad::Ignored(reason)
        }
    }
}

/// Seals `job` with a fresh nonce from `rng` and writes it to `path` with [`write()`]: atomically,
/// readable by the owner only. A crash leaves the old snapshot or the new one, and perhaps the
/// temporary file of the write it interrupted, which [`load_snapshot`] removes later.
pub fn write_snapshot<R: rand_core::CryptoRng + ?Sized>(
    job: &SnapshotJob,
    path: &Path,
    rng: &mut R,
) -> Result<()> {
    let sealed = job.seal(rng);
    write_via(path, &sealed, Existing::Replace, &temporary_prefix(path))
        .map_err(|e| file_error(path, FileAction::Write, e))
}

/// The start of the temporary files of a snapshot's writes: `.{file name}.`.
fn temporary_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.")
}

/// How old a temporary file of a snapshot's write must be to be taken for one a crash left:
/// far longer than any write takes.
const ABANDONED_AFTER: core::time::Duration = core::time::Duration::from_secs(60);

/// Removes the temporary files that writes of the snapshot at `path` left when their process
/// was killed: only files of this snapshot's naming, and only old ones, so that a write in
/// progress is never disturbed.
fn remove_abandoned(path: &Path) {
    let prefix = temporary_prefix(path);
    let Ok(entries) = std::fs::read_dir(parent(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let abandoned = name.starts_with(&prefix)
            && Path::new(&*name).extension().is_some_and(|e| e == "tmp")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| at.elapsed().is_ok_and(|age| age >= ABANDONED_AFTER));
        if abandoned && std::fs::remove_file(entry.path()).is_ok() {
            crate::trace::event!(debug, file = %name, "removed a snapshot write a crash left");
        }
    }
}

/// Reads at most `limit` bytes of a file; a longer one is an error.
fn read_limited(path: &Path, limit: u64) -> io::Result<Zeroizing<Vec<u8>>> {
    let file = File::open(path)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "larger than any snapshot this client writes",
        ));
    }
    Ok(bytes)
}

fn file_error(path: &Path, action: FileAction, source: io::Error) -> Error {
    Error::File {
        path: PathBuf::from(path),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = r#"{"server":"https://vault.example.com","client_id":"5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17","client_secret":"c2VjcmV0LWtleQ=="}"#;

    fn credentials() -> Credentials {
        Credentials::from_json(CREDENTIALS).unwrap()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syvault.json");
        credentials().write_to(&path).unwrap();
        assert_eq!(Credentials::read_from(&path).unwrap(), credentials());
        assert_eq!(entries(dir.path()), ["syvault.json"]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_file_is_replaced_by_an_owner_only_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syvault.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        credentials().write_to(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(Credentials::read_from(&path).unwrap(), credentials());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "untouched").unwrap();
        let path = dir.path().join("syvault.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        credentials().write_to(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn planted_files_at_the_old_predictable_names_are_never_written() {
        // Earlier versions wrote through `.{name}.{pid}.tmp`; the name is random now and the
        // temporary file is created exclusively, so files planted there stay as they are.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "untouched").unwrap();
        let planted = dir
            .path()
            .join(format!(".syvault.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        let path = dir.path().join("syvault.json");
        credentials().write_to(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    }

    #[test]
    fn loading_a_snapshot_removes_old_temporary_files_of_its_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.snapshot");
        let old = std::time::SystemTime::now() - core::time::Duration::from_secs(120);
        let make = |name: &str, modified: std::time::SystemTime| {
            let file = File::create(dir.path().join(name)).unwrap();
            file.set_modified(modified).unwrap();
        };
        make(".agent.snapshot.abc123.tmp", old);
        make(".agent.snapshot.young.tmp", std::time::SystemTime::now());
        make(".agent.snapshot.old.bak", old);
        make(".syvault-credentials.tmp", old);
        make(".other.snapshot.abc.tmp", old);
        let secret = crate::keys::ClientKey::from_scalar_bytes(&[7; 32])
            .unwrap()
            .to_client_secret();
        let mut client = Client::builder()
            .server("https://vault.example.com")
            .client_id(uuid::Uuid::nil())
            .client_secret(secret)
            .build()
            .unwrap();
        let now = Timestamp::from_unix_secs(1_700_000_000);
        assert!(matches!(
            load_snapshot(&mut client, &path, now),
            SnapshotLoad::Absent
        ));
        assert_eq!(
            entries(dir.path()),
            [
                ".agent.snapshot.old.bak",
                ".agent.snapshot.young.tmp",
                ".other.snapshot.abc.tmp",
                ".syvault-credentials.tmp"
            ]
        );
    }

    #[test]
    fn write_new_keeps_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syvault.json");
        std::fs::write(&path, "mine").unwrap();
        let error = credentials().write_new(&path).unwrap_err();
        let Error::File { action, source, .. } = &error else {
            panic!("expected a file error, got {error:?}");
        };
        assert_eq!(*action, FileAction::Write);
        assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        assert_eq!(entries(dir.path()), ["syvault.json"]);
    }

    #[test]
    fn a_missing_file_names_its_path_and_keeps_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.json");
        let error = Credentials::read_from(&path).unwrap_err();
        assert!(
            error.to_string().contains(&*path.to_string_lossy()),
            "{error}"
        );
        let source = std::error::Error::source(&error).expect("an io::Error source");
        let io = source.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_file_that_is_not_credentials_is_invalid_input_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syvault.json");
        std::fs::write(&path, r#"{"client_secret":"c2VjcmV0LWtleQ=="}"#).unwrap();
        let error = Credentials::read_from(&path).unwrap_err();
        assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
        assert!(!error.to_string().contains("c2VjcmV0"));
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            Credentials::read_from(&path),
            Err(Error::InvalidInput { .. })
        ));
    }

    /// The temporary file is created next to the destination, so that the final rename stays
    /// on one file system: a temporary file elsewhere (the current directory, say) could not be
    /// renamed onto another file system, and copying instead would lose atomicity. Needs a
    /// directory on another file system than the current directory: `/dev/shm` on Linux.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_destination_on_another_file_system_is_written_in_its_own_directory() {
        use std::os::unix::fs::MetadataExt as _;
        let here = std::fs::metadata(".").unwrap().dev();
        let Some(elsewhere) = std::fs::metadata("/dev/shm")
            .ok()
            .filter(|m| m.is_dir() && m.dev() != here)
            .and_then(|_| tempfile::tempdir_in("/dev/shm").ok())
        else {
            eprintln!("no writable /dev/shm on another file system: nothing to check here");
            return;
        };
        let path = elsewhere.path().join("syvault.json");
        credentials().write_to(&path).unwrap();
        credentials().write_to(&path).unwrap();
        assert_eq!(Credentials::read_from(&path).unwrap(), credentials());
        assert_eq!(entries(elsewhere.path()), ["syvault.json"]);
        let fresh = elsewhere.path().join("fresh.json");
        credentials().write_new(&fresh).unwrap();
        assert_eq!(Credentials::read_from(&fresh).unwrap(), credentials());
    }

    #[test]
    fn a_ca_file_is_read_as_text_and_errors_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        std::fs::write(&path, pem).unwrap();
        assert_eq!(read_text(&path).unwrap(), pem);

        let missing = dir.path().join("absent.pem");
        let error = read_text(&missing).unwrap_err();
        let Error::File { path, action, .. } = &error else {
            panic!("expected a file error, got {error:?}");
        };
        assert_eq!(
            (path.as_path(), *action),
            (missing.as_path(), FileAction::Read)
        );

        let binary = dir.path().join("ca.der");
        std::fs::write(&binary, [0x30, 0x82, 0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&binary),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn a_file_longer_than_the_limit_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.snapshot");
        std::fs::write(&path, b"1234").unwrap();
        assert_eq!(&*read_limited(&path, 4).unwrap(), b"1234");
        assert_eq!(&*read_limited(&path, 5).unwrap(), b"1234");
        let error = read_limited(&path, 3).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    fn client() -> Client {
        let secret = crate::keys::ClientKey::from_scalar_bytes(&[7; 32])
            .unwrap()
            .to_client_secret();
        Client::builder()
            .server("https://vault.example.com")
            .client_id(uuid::Uuid::nil())
            .client_secret(secret)
            .build()
            .unwrap()
    }

    #[test]
    fn a_written_snapshot_loads_into_a_new_process_of_the_client() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.snapshot");
        let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
        let now = Timestamp::from_unix_secs(1_700_000_000);
        let job = client().take_snapshot(now, &mut rng).unwrap();
        write_snapshot(&job, &path, &mut rng).unwrap();
        assert_eq!(entries(dir.path()), ["agent.snapshot"]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let SnapshotLoad::Restored(restored) = load_snapshot(&mut client(), &path, now) else {
            panic!("the snapshot just written must load");
        };
        assert_eq!(restored.written_at, now);
    }

    #[test]
    fn a_snapshot_that_cannot_be_read_is_ignored_naming_its_path() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: it exists, but cannot be read as one.
        let path = dir.path().join("agent.snapshot");
        std::fs::create_dir(&path).unwrap();
        let now = Timestamp::from_unix_secs(1_700_000_000);
        let SnapshotLoad::Ignored(reason) = load_snapshot(&mut client(), &path, now) else {
            panic!("an unreadable snapshot is ignored, not absent");
        };
        assert!(reason.contains(&*path.to_string_lossy()), "{reason}");
    }
}

//! The agent's socket: where it lives, how it is created, and who may use it.

use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use crate::failure::Failure;

/// The socket's name in the default directory.
const SOCKET_NAME: &str = "agent.sock";

/// The default socket: `$XDG_RUNTIME_DIR/syvault/agent.sock`.
pub(crate) fn default_path() -> Result<PathBuf, Failure> {
    let runtime = crate::cli::env("XDG_RUNTIME_DIR").ok_or_else(|| {
        Failure::usage(
            "XDG_RUNTIME_DIR is not set, so there is no default socket; pass --socket PATH",
        )
    })?;
    Ok(Path::new(&runtime).join("syvault").join(SOCKET_NAME))
}

/// Creates the default socket's directory, owner-only, or checks the one already there: it
/// must be a directory of this user that no one else may write to.
pub(crate) fn prepare_default_dir(dir: &Path, uid: u32) -> Result<(), Failure> {
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(Failure::operation(format!(
                "cannot create {}: {error}",
                dir.display()
            )));
        }
    }
    let metadata = std::fs::symlink_metadata(dir)
        .map_err(|error| Failure::operation(format!("cannot read {}: {error}", dir.display())))?;
    if !metadata.is_dir() || metadata.uid() != uid || metadata.mode() & 0o022 != 0 {
        return Err(Failure::operation(format!(
            "{} must be a directory of this user that others cannot write to",
            dir.display()
        )));
    }
    Ok(())
}

/// A bound socket, removed when the agent stops if it is still the one this agent created.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) listener: UnixListener,
    pub(crate) path: PathBuf,
    /// Device and inode of the socket file, to recognise it at removal.
    identity: (u64, u64),
}

/// Binds the socket at `path` with `mode`. The socket is bound under a temporary name in the
/// same directory, given its mode, then renamed into place, so that it is never reachable at
/// `path` with looser permissions. An agent already listening there is an error; a stale
/// socket left by one that died is replaced; any other file is left alone.
pub(crate) fn bind(path: &Path, mode: u32) -> Result<Bound, Failure> {
    let fail = |what: &str, error: io::Error| {
        Failure::operation(format!("cannot {what} {}: {error}", path.display()))
    };
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(Failure::operation(format!(
                    "an agent is already listening on {}",
                    path.display()
                )));
            }
        }
        Ok(_) => {
            return Err(Failure::operation(format!(
                "{} exists and is not a socket; not replacing it",
                path.display()
            )));
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(fail("read", error)),
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{} names no file", path.display())))?;
    let (listener, temporary) =
        bind_temporary(dir, &name.to_string_lossy()).map_err(|error| fail("listen on", error))?;
    let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = placed {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail("listen on", error));
    }
    let metadata = std::fs::symlink_metadata(path).map_err(|error| fail("read", error))?;
    listener
        .set_nonblocking(true)
        .map_err(|error| fail("listen on", error))?;
    let listener = UnixListener::from_std(listener).map_err(|error| fail("listen on", error))?;
    Ok(Bound {
        listener,
        path: path.to_owned(),
        identity: (metadata.dev(), metadata.ino()),
    })
}

/// Binds a socket under a fresh name in `dir`. Binding never follows or replaces an existing
/// file, so a name someone planted is skipped.
fn bind_temporary(
    dir: &Path,
    name: &str,
) -> io::Result<(std::os::unix::net::UnixListener, PathBuf)> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    for attempt in 0..100_u32 {
        let temporary = dir.join(format!(
            ".{name}.{}.{:08x}",
            std::process::id(),
            seed.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        ));
        match std::os::unix::net::UnixListener::bind(&temporary) {
            Ok(listener) => return Ok((listener, temporary)),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => {}
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free temporary name",
    ))
}

impl Bound {
    /// Removes the socket file if it is still the one bound here (another agent may have
    /// replaced it since).
    pub(crate) fn remove(&self) {
        if let Ok(metadata) = std::fs::symlink_metadata(&self.path)
            && (metadata.dev(), metadata.ino()) == self.identity
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Who may use the agent: its own user and the users allowed on the command line.
#[derive(Clone, Debug)]
pub(crate) struct Peers {
    own: u32,
    allowed: Vec<u32>,
}

impl Peers {
    pub(crate) fn new(own: u32, allowed: Vec<u32>) -> Self {
        Self { own, allowed }
    }

    /// This process's effective user id.
    pub(crate) fn own_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// Whether a peer whose effective uid is `uid` is served.
    pub(crate) fn allows(&self, uid: u32) -> bool {
        uid == self.own || self.allowed.contains(&uid)
    }

    /// The socket's mode: owner-only, unless other users are allowed, who need to connect
    /// before the uid check can admit them.
    pub(crate) fn socket_mode(&self) -> u32 {
        if self.allowed.iter().any(|&uid| uid != self.own) {
            0o666
        } else {
            0o600
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_and_allowed_users_are_served() {
        let peers = Peers::new(1000, vec![]);
        assert!(peers.allows(1000));
        assert!(!peers.allows(0));
        assert!(!peers.allows(1001));
        assert_eq!(peers.socket_mode(), 0o600);
        let peers = Peers::new(1000, vec![1001]);
        assert!(peers.allows(1001));
        assert!(!peers.allows(1002));
        assert_eq!(peers.socket_mode(), 0o666);
        assert_eq!(Peers::new(1000, vec![1000]).socket_mode(), 0o600);
    }

    #[tokio::test]
    async fn a_socket_is_placed_with_its_mode_and_never_replaces_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        let bound = bind(&path, 0o600).unwrap();
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        assert!(metadata.file_type().is_socket());
        assert_eq!(metadata.mode() & 0o777, 0o600);
        // No temporary name is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A second agent on the same path is refused while the first listens.
        let again = bind(&path, 0o600).unwrap_err();
        assert!(again.into_lines()[0].contains("already listening"));
        bound.remove();
        assert!(!path.exists());

        // A socket whose agent died is replaced.
        let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(stale);
        let bound = bind(&path, 0o600).unwrap();
        bound.remove();

        // Anything else is left alone.
        std::fs::write(&path, "mine").unwrap();
        let refused = bind(&path, 0o600).unwrap_err();
        assert!(refused.into_lines()[0].contains("not a socket"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    }

    #[tokio::test]
    async fn removal_spares_a_socket_that_replaced_this_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        let bound = bind(&path, 0o600).unwrap();
        std::fs::remove_file(&path).unwrap();
        let _other = std::os::unix::net::UnixListener::bind(&path).unwrap();
        bound.remove();
        assert!(path.exists());
    }

    #[test]
    fn the_default_directory_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let own = Peers::own_uid();
        let private = dir.path().join("syvault");
        prepare_default_dir(&private, own).unwrap();
        assert_eq!(std::fs::metadata(&private).unwrap().mode() & 0o777, 0o700);
        prepare_default_dir(&private, own).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(prepare_default_dir(&private, own).is_err());
        assert!(prepare_default_dir(&private, own + 1).is_err());
    }
}

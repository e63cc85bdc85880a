//! `sy agent`: one client, one cache and one identity per host, served over a Unix socket; and
//! the client side that `sy read`, `sy run` and `sy inject` use when they are given a socket.
//!
//! The daemon ([`server`]) holds the credentials and an async client; the processes that ask it
//! never see the client secret. It speaks HTTP/1.1 with the small JSON API of [`api`]
//! (docs/agent.md). Every request is checked before anything touches the client: the peer's
//! uid (`SO_PEERCRED`) when the connection is accepted, then method, path, media type and
//! size.
//!
//! The client side ([`client`]) is a few system calls on a standard-library socket: it builds
//! no client, reads no trust store and loads no key, so that a `sy read` through the agent
//! costs little more than starting a process. [`fast`] spares that path the parsing of the
//! whole command line.

pub(crate) mod api;
#[cfg(unix)]
pub(crate) mod client;
#[cfg(unix)]
mod explain;
#[cfg(unix)]
pub(crate) mod fast;
#[cfg(unix)]
mod listener;
#[cfg(unix)]
mod metrics;
#[cfg(unix)]
mod routes;
#[cfg(unix)]
pub(crate) mod server;

/// The variable naming the agent's socket for `sy read`, `sy run` and `sy inject`.
pub(crate) const ENV_SOCKET: &str = "SY_AGENT_SOCKET";

#[cfg(not(unix))]
pub(crate) mod client {
    //! Without Unix sockets there is no agent to reach.

    use std::path::{Path, PathBuf};

    use syvault_ureq::Selected;

    use crate::failure::Failure;

    /// The agent at a socket; on this platform, unreachable.
    pub(crate) struct Agent {
        socket: PathBuf,
    }

    impl Agent {
        pub(crate) fn new(socket: &Path, _timeout: std::time::Duration) -> Self {
            Self {
                socket: socket.to_owned(),
            }
        }

        fn unsupported(&self) -> Failure {
            Failure::operation(format!(
                "cannot reach the agent at {}: `sy agent` needs Unix sockets",
                self.socket.display()
            ))
            .category("agent")
        }

        pub(crate) fn read(&self, _reference: &str) -> Result<Selected, Failure> {
            Err(self.unsupported())
        }

        pub(crate) fn resolve_all(
            &self,
            _references: &[&str],
        ) -> Result<Vec<Result<Selected, Failure>>, Failure> {
            Err(self.unsupported())
        }
    }
}

#[cfg(not(unix))]
pub(crate) mod server {
    //! Without Unix sockets there is no agent to run.

    use crate::cli::{AgentArgs, Global};
    use crate::failure::Failure;

    pub(crate) fn run(_global: &Global, _args: &AgentArgs) -> Result<(), Failure> {
        Err(Failure::usage("`sy agent` needs Unix sockets"))
    }
}

//! The command line's grammar: every command, option and its help text.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "SyVault Secrets Manager from the shell: bootstrap a client, read, create \
and rotate secrets, lease temporary database credentials, run programs and render files with \
secrets substituted.";

const CREDENTIALS_HELP: &str = "\
Credentials, highest priority first:
  1. --credentials-file PATH or SY_CREDENTIALS_FILE;
  2. SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET;
  3. the profile written by `sy init` (--profile or SY_PROFILE, default `default`), a file in
     the platform's configuration directory (such as ~/.config/syvault/default.json).

Exit status: 0 success, 1 operation error (not found, authentication, server), 2 usage error
or bad input.

Example:
  sy init --token - --server https://vault.example.com < token.txt
  sy read sy://Production/Database/field/password";

/// `sy`: the SyVault Secrets Manager command line.
#[derive(Debug, Parser)]
#[command(name = "sy", version, about = ABOUT, after_help = CREDENTIALS_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub(crate) struct Global {
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help = "Credentials JSON file, as `sy init` writes it [env: SY_CREDENTIALS_FILE]"
    )]
    credentials_file: Option<PathBuf>,
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help = "Profile written by `sy init` [env: SY_PROFILE] [default: default]"
    )]
    profile: Option<String>,
    #[arg(
        long,
        global = true,
        value_name = "PEM",
        help = "Trust this CA certificate (PEM) besides the platform's roots [env: SY_CA_CERT]"
    )]
    ca_file: Option<PathBuf>,
    /// Server URL, overriding the one in the credentials.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// Log each request (method, path, status, duration) on standard error; never values.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
}

/// An environment variable's value; an empty one counts as unset.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Global {
    /// `--credentials-file`, else `SY_CREDENTIALS_FILE`.
    pub(crate) fn credentials_file(&self) -> Option<PathBuf> {
        self.credentials_file
            .clone()
            .or_else(|| env("SY_CREDENTIALS_FILE").map(PathBuf::from))
    }

    /// `--profile`, else `SY_PROFILE`.
    pub(crate) fn profile(&self) -> Option<String> {
        self.profile.clone().or_else(|| env("SY_PROFILE"))
    }

    /// `--ca-file`, else `SY_CA_CERT`.
    pub(crate) fn ca_file(&self) -> Option<PathBuf> {
        self.ca_file
            .clone()
            .or_else(|| env("SY_CA_CERT").map(PathBuf::from))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Bootstrap this machine's client from a one-time token and store its credentials.
    #[command(after_help = "\
The credentials go to --credentials-file (or SY_CREDENTIALS_FILE) if given, else to the
profile. They are written atomically, readable by the owner only (0600); an existing file is
kept unless --force is given. The client secret is never printed.

Examples:
  sy init --token vft_… --server https://vault.example.com
  sy init --token - --server https://vault.example.com --profile ci < token.txt
  SY_TOKEN=vft_… sy init --server https://vault.example.com --credentials-file creds.json")]
    Init(InitArgs),
    /// Print the value a `sy://` reference selects, and nothing else.
    #[command(after_help = "\
Examples:
  sy read sy://Production/Database/field/password
  sy read -n 'sy://Stripe API Key/field/api_key' | pbcopy")]
    Read(ReadArgs),
    /// List, show, create and rotate secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// List the folders granted to this client.
    #[command(subcommand)]
    Folder(FolderCommand),
    /// Take, list, renew and revoke leases: temporary database credentials.
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// Run a command with every `sy://` reference in its environment replaced by its value.
    #[command(after_help = "\
Every variable, inherited or from an env file, whose value starts with `sy://` is resolved in
one batch (one listing, however many references). If any reference fails, the command is not
started and every failing variable is named. On Unix the command replaces `sy` (exec), so
signals and the exit status are its own.

Env files hold KEY=VALUE lines; blank lines and lines starting with # are ignored, `export `
before a key is allowed, and a value may be wrapped in single or double quotes.

Examples:
  DB_PASSWORD=sy://Production/Database/field/password sy run -- ./server
  sy run --env-file .env.sy -- psql")]
    Run(RunArgs),
    /// Replace `{{ sy://… }}` placeholders in a template.
    #[command(after_help = "\
Reads the template from -i (default standard input) and writes to -o (default standard
output). An output file is written atomically with mode 0600. If any placeholder fails,
nothing is written and every failing placeholder is listed with its line.

Example:
  echo 'password = {{ sy://Production/Database/field/password }}' | sy inject -o app.conf")]
    Inject(InjectArgs),
    /// Serve this host's processes from one client and one cache, over a Unix socket.
    #[command(after_help = AGENT_HELP)]
    Agent(AgentArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Example:
  sy completion bash > ~/.local/share/bash-completion/completions/sy")]
    Completion(CompletionArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[arg(
        long,
        value_name = "TOKEN",
        help = "The one-time token (`vft_…`); `-` reads it from standard input [env: SY_TOKEN]"
    )]
    pub(crate) token: Option<String>,
    /// Replace existing credentials.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// A reference such as `sy://Production/Database/field/password`.
    pub(crate) reference: String,
    /// Do not print a newline after the value.
    #[arg(short = 'n', long)]
    pub(crate) no_newline: bool,
    #[command(flatten)]
    pub(crate) agent: AgentSocket,
}

/// `--agent PATH`, else `SY_AGENT_SOCKET`: resolve through `sy agent` instead of the vault.
#[derive(Debug, Args)]
pub(crate) struct AgentSocket {
    #[arg(
        long = "agent",
        value_name = "PATH",
        help = "Resolve through the `sy agent` listening on this socket, never directly \
                [env: SY_AGENT_SOCKET]"
    )]
    socket: Option<PathBuf>,
}

impl AgentSocket {
    /// The agent's socket, if one is named: the option, else `SY_AGENT_SOCKET`.
    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.explicit()
            .or_else(|| env(crate::agent::ENV_SOCKET).map(PathBuf::from))
    }

    /// The socket given on the command line.
    pub(crate) fn explicit(&self) -> Option<PathBuf> {
        self.socket.clone()
    }
}

const AGENT_HELP: &str = "\
The agent reads the credentials once (the usual precedence) and answers `sy read`, `sy run`
and `sy inject` of this host from one client and one cache, when they are given --agent PATH
or SY_AGENT_SOCKET. Its clients never see the client secret. It speaks HTTP/1.1 with a small
JSON API (docs/agent.md) on a Unix socket, mode 0600, and serves only its own user and the
users given with --allow-uid (checked with SO_PEERCRED; the socket is then mode 0666 and the
check alone decides).

With --snapshot (or SY_SNAPSHOT_FILE), the agent keeps an encrypted snapshot of its cache
(mode 0600, written a moment after changes and when it stops) and starts from it: while the
vault cannot be reached, what it had read is served within --max-stale of when it was fetched.

Logs go to standard error (-v for every request), never with values. SIGTERM or SIGINT
drains the requests in flight, writes the snapshot and exits; SIGHUP reads the credentials
again.

Examples:
  sy agent --credentials-file /etc/syvault/app.json &
  SY_AGENT_SOCKET=$XDG_RUNTIME_DIR/syvault/agent.sock sy read sy://Production/Database/field/password";

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[arg(
        long,
        value_name = "PATH",
        help = "The Unix socket to listen on [default: $XDG_RUNTIME_DIR/syvault/agent.sock]"
    )]
    pub(crate) socket: Option<PathBuf>,
    /// Also serve this user id; repeat for more.
    #[arg(long = "allow-uid", value_name = "UID")]
    pub(crate) allow_uids: Vec<u32>,
    /// The most connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub(crate) max_connections: u32,
    /// How long a secret is served from the cache, such as `60s` or `5m` [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) cache_ttl: Option<humantime::Duration>,
    /// How long past its time to live a cached secret may still be served while the vault
    /// cannot be reached [default: never].
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_stale: Option<humantime::Duration>,
    /// Refresh a secret in the background when it is read in this last part of its time to
    /// live, in percent; 0 never does [default: 20].
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=99))]
    pub(crate) refresh_ahead: Option<u8>,
    #[arg(
        long,
        value_name = "PATH",
        help = "Keep an encrypted snapshot of the cache in this file, so that a restart while \
                the vault is down still serves, within --max-stale [env: SY_SNAPSHOT_FILE]"
    )]
    pub(crate) snapshot: Option<PathBuf>,
    /// How long after a change the snapshot is written, and the least time between two
    /// [default: 2s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) snapshot_debounce: Option<humantime::Duration>,
}

impl AgentArgs {
    /// `--snapshot`, else `SY_SNAPSHOT_FILE`.
    pub(crate) fn snapshot_file(&self) -> Option<PathBuf> {
        self.snapshot
            .clone()
            .or_else(|| env("SY_SNAPSHOT_FILE").map(PathBuf::from))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretCommand {
    /// List UID, folder path, title, type and revision of every visible secret.
    #[command(after_help = "\
JSON: an array of {\"uid\", \"folder_id\", \"folder\", \"title\", \"type\", \"revision\"}, where
`folder` is the folder path joined with `/`.

Examples:
  sy secret list
  sy secret list --folder Production --format json")]
    List(ListArgs),
    /// Show one secret. The table masks values unless --reveal is given.
    #[command(after_help = "\
JSON: {\"uid\", \"folder_id\", \"title\", \"type\", \"revision\", \"fields\": {name: value},
\"notes\"}. env: one NAME='value' line per field, the name upper-cased with every character
other than A-Z, 0-9 and _ replaced by _, the value quoted for POSIX shells.

Examples:
  sy secret get 7Kj9mNpQ2xRs
  sy secret get 7Kj9mNpQ2xRs --field password
  sy secret get 7Kj9mNpQ2xRs --format env")]
    Get(GetArgs),
    /// Create a secret and print its UID.
    #[command(after_help = "\
A value written @PATH is read from that file and `-` from standard input (one trailing newline
is dropped), so that secrets need not appear in the command line.

Example:
  sy secret create --folder Production --title Redis --field host=redis.internal \\
      --field password=@redis-password.txt")]
    Create(CreateArgs),
    /// Rotate a secret's credential on the server and wait for the outcome.
    #[command(after_help = "\
Prints the rotation id, its final status and the new revision. A failure or a timeout exits
with status 1 and names the rotation id; wait for it again with --resume.

Examples:
  sy secret rotate 7Kj9mNpQ2xRs
  sy secret rotate 7Kj9mNpQ2xRs --no-wait
  sy secret rotate 7Kj9mNpQ2xRs --resume 0f3c5d2e-…  --timeout 5m")]
    Rotate(RotateArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum FolderCommand {
    /// List the folders granted to this client: id, path and access.
    #[command(after_help = "\
JSON: an array of {\"folder_id\", \"parent_id\", \"name\", \"path\", \"access\"}, where access is
`read` or `read_write`.

Example:
  sy folder list --format json")]
    List(FolderListArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum LeaseCommand {
    /// Take a lease on a dynamic target: a temporary database role with a random password.
    #[command(after_help = "\
The TTL is from 1m to 24h, in whole seconds. Nothing keeps the lease alive after `sy` exits:
it ends at its expiry unless renewed with `sy lease renew` or revoked sooner. The table masks
the password (also inside the connection string) unless --reveal is given; json and env
always hold it.

JSON: {\"lease_id\", \"record_uid\", \"username\", \"password\", \"connection_string\",
\"created_at\", \"expires_at\"}, times in RFC 3339 (UTC). env: one NAME='value' line per key
of the JSON (LEASE_ID, RECORD_UID, USERNAME, PASSWORD, CONNECTION_STRING, CREATED_AT,
EXPIRES_AT), the value quoted for POSIX shells.

Examples:
  sy lease create 7Kj9mNpQ2xRs --ttl 1h
  sy lease create 7Kj9mNpQ2xRs --ttl 15m --format json
  eval \"$(sy lease create 7Kj9mNpQ2xRs --ttl 1h --format env)\"; psql \"$CONNECTION_STRING\"")]
    Create(LeaseCreateArgs),
    /// List this client's active leases: id, record, role and expiry, never passwords.
    #[command(after_help = "\
JSON: an array of {\"lease_id\", \"record_uid\", \"username\", \"created_at\",
\"expires_at\"}, times in RFC 3339 (UTC).

Examples:
  sy lease list
  sy lease list --format json")]
    List(LeaseListArgs),
    /// Extend a lease to TTL from now; the server caps it at 24h after its creation.
    #[command(after_help = "\
Prints the lease id and its new expiry.

Example:
  sy lease renew 0f3c5d2e-8a4b-4c1d-9e7f-2a6b8c0d1e3f --ttl 1h")]
    Renew(LeaseRenewArgs),
    /// Revoke a lease now: its role's sessions end and the role is dropped.
    #[command(after_help = "\
Revoking a lease of this client that is already revoked or has expired succeeds too; an
unknown id, or another client's lease, is `lease ID not found` (exit status 1).

Example:
  sy lease revoke 0f3c5d2e-8a4b-4c1d-9e7f-2a6b8c0d1e3f")]
    Revoke(LeaseRevokeArgs),
}

/// Formats of listings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Stable JSON for programs.
    Json,
}

/// Formats of one secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum GetFormat {
    /// Aligned rows for people; values masked unless --reveal.
    #[default]
    Table,
    /// Stable JSON with the values.
    Json,
    /// NAME='value' lines for a POSIX shell.
    Env,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only secrets in this folder: its name, its path (`A/B`) or its id.
    #[arg(long, value_name = "NAME|ID")]
    pub(crate) folder: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The secret's UID.
    pub(crate) uid: String,
    /// Print this field's value alone.
    #[arg(long, value_name = "NAME")]
    pub(crate) field: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: GetFormat,
    /// Show values in the table.
    #[arg(long)]
    pub(crate) reveal: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The folder: its name, its path (`A/B`) or its id.
    #[arg(long, value_name = "NAME|ID")]
    pub(crate) folder: String,
    /// The title.
    #[arg(long)]
    pub(crate) title: String,
    /// The record type [default: login].
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) record_type: Option<String>,
    /// A field, NAME=VALUE; VALUE may be @PATH or `-`. Repeat for more fields.
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub(crate) fields: Vec<String>,
    /// Notes; may be @PATH or `-`.
    #[arg(long, value_name = "TEXT")]
    pub(crate) notes: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The secret's UID.
    pub(crate) uid: String,
    /// Start the rotation and print its id without waiting for it.
    #[arg(long, conflicts_with = "timeout")]
    pub(crate) no_wait: bool,
    /// How long to wait, such as `90s` or `5m` [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) timeout: Option<humantime::Duration>,
    /// Wait for a rotation already started (by id) instead of starting one.
    #[arg(long, value_name = "ROTATION_ID")]
    pub(crate) resume: Option<syvault_ureq::Uuid>,
    /// Also print the secret's new values.
    #[arg(long)]
    pub(crate) reveal: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FolderListArgs {
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseCreateArgs {
    /// The dynamic target's UID.
    pub(crate) uid: String,
    /// How long the lease lasts, such as `15m` or `1h` (1m to 24h).
    #[arg(long, value_name = "DURATION")]
    pub(crate) ttl: humantime::Duration,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: GetFormat,
    /// Show the password in the table.
    #[arg(long)]
    pub(crate) reveal: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseListArgs {
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseRenewArgs {
    /// The lease's id.
    pub(crate) id: syvault_ureq::Uuid,
    /// The new time to live from now, such as `1h` (1m to 24h).
    #[arg(long, value_name = "DURATION")]
    pub(crate) ttl: humantime::Duration,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseRevokeArgs {
    /// The lease's id.
    pub(crate) id: syvault_ureq::Uuid,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Read variables from this file too (KEY=VALUE lines); later files win.
    #[arg(long, value_name = "FILE")]
    pub(crate) env_file: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) agent: AgentSocket,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct InjectArgs {
    /// The template [default: standard input].
    #[arg(short = 'i', long = "in", value_name = "TEMPLATE")]
    pub(crate) input: Option<PathBuf>,
    /// Where to write the result, mode 0600 [default: standard output].
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) agent: AgentSocket,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell.
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }
}

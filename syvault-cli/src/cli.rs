//! The command line's grammar: every command, option and its help text.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::failure::Failure;

const ABOUT: &str = "SyVault Secrets Manager from the shell: bootstrap a client, read, create \
and rotate secrets, lease temporary database credentials, run programs and render files with \
secrets substituted.";

const CREDENTIALS_HELP: &str = "\
Credentials, highest priority first:
  1. --credentials-file PATH or SY_CREDENTIALS_FILE;
  2. SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET, all three;
  3. the profile written by `sy init` (--profile or SY_PROFILE, default `default`), a file in
     the platform's configuration directory (such as ~/.config/syvault/default.json). A
     profile keeps the CA file and client certificate it was created with; its directory and
     file must belong to you and be writable by you alone.

Time limits: 5 s to connect, and --timeout (SY_TIMEOUT, default 30s) for all of a command's
network work, retries included; `secret rotate` waits up to --timeout (default 60s) for the
rotation.

Exit status: 0 success, 1 operation error (not found, authentication, server, time limit),
2 usage error or bad input, 130 or 143 when interrupted. With --format json an error is one
JSON object on standard error: {\"error\": {\"kind\", \"message\", ...}}.

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
    #[arg(
        long,
        global = true,
        value_name = "PEM",
        requires = "client_key",
        help = "Present this client certificate chain (PEM) to servers that require one \
                [env: SY_CLIENT_CERT]"
    )]
    client_cert: Option<PathBuf>,
    #[arg(
        long,
        global = true,
        value_name = "PEM",
        requires = "client_cert",
        help = "The private key (PEM) of --client-cert [env: SY_CLIENT_KEY]"
    )]
    client_key: Option<PathBuf>,
    /// Server URL, overriding the one in the credentials.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) server: Option<String>,
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help = "Limit on all of the command's network work, such as `10s` or `2m` \
                [env: SY_TIMEOUT] [default: 30s; 60s for `secret rotate`]"
    )]
    timeout: Option<humantime::Duration>,
    /// Log each request (method, path, status, duration) on standard error; -vv adds retries,
    /// cache decisions and token signatures. Never values.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// An environment variable's value; an empty one counts as unset.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The time allowed to connect to the server.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default limit on a command's network work.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

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

    /// `--client-cert` and `--client-key`, else `SY_CLIENT_CERT` and `SY_CLIENT_KEY`.
    pub(crate) fn client_identity(&self) -> Result<Option<(PathBuf, PathBuf)>, Failure> {
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            return Ok(Some((cert.clone(), key.clone())));
        }
        match (env("SY_CLIENT_CERT"), env("SY_CLIENT_KEY")) {
            (Some(cert), Some(key)) => Ok(Some((cert.into(), key.into()))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(Failure::usage(
                "SY_CLIENT_CERT is set without SY_CLIENT_KEY: set both, or neither",
            )),
            (None, Some(_)) => Err(Failure::usage(
                "SY_CLIENT_KEY is set without SY_CLIENT_CERT: set both, or neither",
            )),
        }
    }

    /// `--timeout`, else `SY_TIMEOUT`, else `default`.
    pub(crate) fn timeout(&self, default: Duration) -> Result<Duration, Failure> {
        match self.timeout {
            Some(timeout) => Ok(timeout.into()),
            None => env_timeout(default),
        }
    }
}

/// `SY_TIMEOUT`, else `default`.
pub(crate) fn env_timeout(default: Duration) -> Result<Duration, Failure> {
    match env("SY_TIMEOUT") {
        None => Ok(default),
        Some(text) => humantime::parse_duration(text.trim())
            .map_err(|_| {
                Failure::usage(format!(
                    "SY_TIMEOUT is `{}`, not a duration such as `10s` or `2m`",
                    crate::output::escape(&text)
                ))
            })
            .and_then(|timeout| {
                if timeout.is_zero() {
                    Err(Failure::usage("SY_TIMEOUT must be longer than zero"))
                } else {
                    Ok(timeout)
                }
            }),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Bootstrap this machine's client from a one-time token and store its credentials.
    #[command(after_help = "\
The credentials go to --credentials-file (or SY_CREDENTIALS_FILE) if given, else to the
profile. They are written atomically, readable by the owner only (0600); an existing file is
kept unless --force is given. The client secret is never printed. The CA file and client
certificate given with --ca-file and --client-cert/--client-key are remembered (as paths)
and used by every later command with these credentials.

`--token -` reads the token from standard input: a prompt that does not echo on a terminal,
else the first line. Never pass the token itself on the command line, where other users of
the machine can see it in the process list.

JSON: {\"client_id\", \"server\", \"credentials\", \"profile\", \"folders\"}, where
`credentials` is the file written, `profile` its profile name or null, and `folders` the
number of folders granted.

Examples:
  sy init --token - --server https://vault.example.com < token.txt
  sy init --token - --server https://vault.internal:8443 --ca-file ca.pem --profile ci
  sy init --token - --server https://vault.example.com --credentials-file creds.json")]
    Init(InitArgs),
    /// Print the value a `sy://` reference selects, and nothing else.
    #[command(after_help = "\
On a reference that names nothing, the closest folder paths, titles or field names are
suggested (never a value).

JSON: {\"reference\", \"value\"}.

Examples:
  sy read sy://Production/Database/field/password
  sy read -n 'sy://Stripe API Key/field/api_key' | pbcopy
  sy read sy://Production/Database/field/password --format json")]
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
started and every failing variable is named.

The command does not see sy's own credentials: SY_CLIENT_ID, SY_CLIENT_SECRET, SY_SERVER,
SY_CREDENTIALS_FILE, SY_PROFILE, SY_TOKEN, SY_CLIENT_KEY and SY_AGENT_SOCKET are removed from
its environment unless --pass-credentials is given, so that it can read the values it was
given and nothing else. (A command running as the same user can still read the profile files
themselves: run it as another user to keep it from them.)

Without --mask, on Unix the command replaces `sy` (exec), so signals and the exit status are
its own. With --mask, `sy` stays as its parent: the command's standard output and error pass
through `sy`, which writes `<concealed by sy>` in place of every resolved value (also when a
value is split across writes); signals sent to `sy` are passed on while the command runs,
and `sy` exits with the command's status once all the command's output is written, however
long the reader takes (a pager, say). Output that a process the command left behind writes
is passed on as long as it keeps coming; once it has been idle for two seconds after the
command ended, `sy` stops waiting. SIGINT, SIGTERM, SIGHUP or SIGQUIT end that wait at once.

Env files hold KEY=VALUE lines; blank lines and lines starting with # are ignored, `export `
before a key is allowed, and a value may be wrapped in single or double quotes.

Examples:
  DB_PASSWORD=sy://Production/Database/field/password sy run -- ./server
  sy run --env-file .env.sy --mask -- ./migrate")]
    Run(RunArgs),
    /// Replace `{{ sy://… }}` placeholders in a template.
    #[command(after_help = "\
Reads the template from -i (default standard input) and writes to -o (default standard
output). An output file is written atomically with mode 0600. If any placeholder fails,
nothing is written and every failing placeholder is listed with its line.

Example:
  echo 'password = {{ sy://Production/Database/field/password }}' | sy inject -o app.conf")]
    Inject(InjectArgs),
    /// Show who this client is: server, client id, folders and access.
    #[command(after_help = "\
JSON: {\"server\", \"client_id\", \"credentials\", \"folders\": [{\"folder_id\", \"path\",
\"access\"}]}, where `credentials` says where they came from and access is `read` or
`read_write`.

Example:
  sy whoami --format json")]
    Whoami(WhoamiArgs),
    /// Check the setup: credentials file, server, TLS, clock, token, agent.
    #[command(after_help = "\
Each check is one line, `ok`, `warn` or `fail`, with what to do about anything not ok:
  credentials   where they come from; a file's owner and mode
  server        the URL, and a TCP connection to it
  tls           the certificate chain against the trusted CAs, and its expiry
  clock         this machine's clock against the server's Date header
  token         a signed token accepted by the server (listing the folders)
  agent         the agent socket's health, when SY_AGENT_SOCKET or --agent names one
The exit status is 1 if any check failed.

JSON: {\"ok\", \"checks\": [{\"check\", \"status\", \"message\", \"fix\"}]}, where status is
`ok`, `warn`, `fail` or `skip` and fix is null when there is nothing to do.

Example:
  sy doctor")]
    Doctor(DoctorArgs),
    /// List, show and remove the profiles written by `sy init`.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Serve this host's processes from one client and one cache, over a Unix socket.
    #[command(after_help = AGENT_HELP)]
    Agent(AgentArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Example:
  sy completion bash > ~/.local/share/bash-completion/completions/sy")]
    Completion(CompletionArgs),
}

impl Command {
    /// Whether the command was asked for JSON, so that its errors are JSON too.
    pub(crate) fn wants_json(&self) -> bool {
        use SecretCommand as S;
        match self {
            Self::Init(args) => args.format == TextFormat::Json,
            Self::Read(args) => args.format == TextFormat::Json,
            Self::Secret(S::List(args)) => args.format == ListFormat::Json,
            Self::Secret(S::Get(args)) => args.format == GetFormat::Json,
            Self::Secret(S::Create(args)) => args.format == TextFormat::Json,
            Self::Secret(S::Rotate(args)) => args.format == TextFormat::Json,
            Self::Folder(FolderCommand::List(args)) => args.format == ListFormat::Json,
            Self::Lease(LeaseCommand::Create(args)) => args.format == GetFormat::Json,
            Self::Lease(LeaseCommand::List(args)) => args.format == ListFormat::Json,
            Self::Lease(LeaseCommand::Renew(args)) => args.format == TextFormat::Json,
            Self::Lease(LeaseCommand::Revoke(args)) => args.format == TextFormat::Json,
            Self::Whoami(args) => args.format == ListFormat::Json,
            Self::Doctor(args) => args.format == TextFormat::Json,
            Self::Profile(ProfileCommand::List(args)) => args.format == ListFormat::Json,
            Self::Profile(ProfileCommand::Show(args)) => args.format == ListFormat::Json,
            Self::Profile(ProfileCommand::Remove(args)) => args.format == TextFormat::Json,
            Self::Run(_) | Self::Inject(_) | Self::Agent(_) | Self::Completion(_) => false,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[arg(
        long,
        value_name = "TOKEN",
        help = "The one-time token (`vft_…`); `-` reads it from standard input (a prompt on a \
                terminal) [env: SY_TOKEN]"
    )]
    pub(crate) token: Option<String>,
    /// Replace existing credentials.
    #[arg(long)]
    pub(crate) force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// A reference such as `sy://Production/Database/field/password`.
    pub(crate) reference: String,
    /// Do not print a newline after the value.
    #[arg(short = 'n', long)]
    pub(crate) no_newline: bool,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
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

Each request it serves may take up to --timeout (SY_TIMEOUT, default 30s) of work against the
vault, retries included; its clients wait up to their own --timeout for its answer.

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
`folder` is the folder path joined with `/`. The table escapes control characters.

Examples:
  sy secret list
  sy secret list --folder Production --format json")]
    List(ListArgs),
    /// Show one secret, named by UID, by `sy://FOLDER/TITLE`, or by --folder and --title. The
    /// table masks values unless --reveal is given.
    #[command(after_help = "\
JSON: {\"uid\", \"folder_id\", \"title\", \"type\", \"revision\", \"fields\": {name: value},
\"notes\"}.

env: one NAME='value' line per field for a POSIX shell, the name upper-cased with every
character other than A-Z, 0-9 and _ replaced by _ (and --prefix before it). A name that would
change how a shell or the dynamic loader behaves (PATH, IFS, ENV, BASH_ENV, PROMPT_COMMAND,
PS1-PS4, LD_*, DYLD_*, ...) is refused unless --prefix namespaces it, and so are two fields
that give the same name.

Examples:
  sy secret get 7Kj9mNpQ2xRs
  sy secret get sy://Production/Database --field password
  sy secret get --folder Production --title Database --format env --prefix DB_")]
    Get(GetArgs),
    /// Create a secret and print its UID.
    #[command(after_help = "\
A value written @PATH is read from that file and `-` from standard input (one trailing newline
is dropped), so that secrets need not appear in the command line. A title that a secret of the
folder already has is refused (references by title would match both) unless
--allow-duplicate-title is given.

JSON: {\"uid\", \"folder_id\", \"folder\", \"title\", \"type\", \"revision\"}.

Example:
  sy secret create --folder Production --title Redis --field host=redis.internal \\
      --field password=@redis-password.txt")]
    Create(CreateArgs),
    /// Rotate a secret's credential on the server and wait for the outcome.
    #[command(after_help = "\
Prints `rotation ID started` (or that an already running rotation was adopted) on standard
error at once, then the final status and the new revision. The wait lasts up to --timeout
(default 60s). A failure, a timeout or an interruption (Ctrl-C, SIGTERM) names the rotation id
and the command that waits for it again: the rotation goes on on the server either way.
Interrupted, the exit status is 130 (SIGINT) or 143 (SIGTERM).

JSON: {\"rotation_id\", \"uid\", \"status\", \"revision\", \"adopted\"} (with --reveal also
\"fields\"); with --no-wait {\"rotation_id\", \"uid\", \"status\": \"started\", \"revision\":
null, \"adopted\"}.

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
The TTL is from 1m to 24h (whole seconds). Nothing keeps the lease alive after `sy` exits:
it ends at its expiry unless renewed with `sy lease renew` or revoked sooner. The table masks
the password (also inside the connection string) unless --reveal is given; json and env
always hold it.

JSON: {\"lease_id\", \"record_uid\", \"username\", \"password\", \"connection_string\",
\"created_at\", \"expires_at\"}, times in RFC 3339 (UTC). env: one NAME='value' line per key
of the JSON (LEASE_ID, RECORD_UID, USERNAME, PASSWORD, CONNECTION_STRING, CREATED_AT,
EXPIRES_AT, each after --prefix), the value quoted for POSIX shells.

Examples:
  sy lease create 7Kj9mNpQ2xRs --ttl 1h
  sy lease create 7Kj9mNpQ2xRs --ttl 15m --format json
  eval \"$(sy lease create 7Kj9mNpQ2xRs --ttl 1h --format env --prefix PG_)\"
  psql \"$PG_CONNECTION_STRING\"")]
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
Prints the lease id and its new expiry. The TTL is from 1m to 24h.

JSON: {\"lease_id\", \"record_uid\", \"username\", \"created_at\", \"expires_at\"}.

Example:
  sy lease renew 0f3c5d2e-8a4b-4c1d-9e7f-2a6b8c0d1e3f --ttl 1h")]
    Renew(LeaseRenewArgs),
    /// Revoke a lease now: its role's sessions end and the role is dropped.
    #[command(after_help = "\
Revoking a lease of this client that is already revoked or has expired succeeds too; an
unknown id, or another client's lease, is `lease ID not found` (exit status 1).

JSON: {\"lease_id\", \"revoked\": true}.

Example:
  sy lease revoke 0f3c5d2e-8a4b-4c1d-9e7f-2a6b8c0d1e3f")]
    Revoke(LeaseRevokeArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// List the profiles: name, server, client id, and which one is in use.
    #[command(after_help = "\
JSON: an array of {\"name\", \"path\", \"server\", \"client_id\", \"current\", \"ca_file\",
\"client_cert\", \"client_key\"}; a profile that cannot be read has \"error\" instead of
server and client id.

Example:
  sy profile list")]
    List(ProfileListArgs),
    /// Show one profile (the one in use by default), never its client secret.
    #[command(after_help = "\
JSON: {\"name\", \"path\", \"server\", \"client_id\", \"current\", \"ca_file\",
\"client_cert\", \"client_key\"}.

Example:
  sy profile show ci")]
    Show(ProfileShowArgs),
    /// Delete a profile's credentials file.
    #[command(after_help = "\
The client stays registered on the server; only this machine's copy of its credentials is
deleted, and with it the only way to use them. Asks on a terminal; elsewhere needs --yes.

JSON: {\"name\", \"path\", \"removed\": true}.

Example:
  sy profile remove ci --yes")]
    Remove(ProfileRemoveArgs),
}

/// Formats of listings and tables.
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

/// Formats of a single result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum TextFormat {
    /// Plain text for people.
    #[default]
    Text,
    /// Stable JSON for programs.
    Json,
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
    /// The secret: its UID, or `sy://FOLDER/TITLE` [or use --folder and --title].
    #[arg(value_name = "SECRET", required_unless_present = "title")]
    pub(crate) secret: Option<String>,
    /// With --title: the folder, by name, path (`A/B`) or id.
    #[arg(
        long,
        value_name = "NAME|ID",
        requires = "title",
        conflicts_with = "secret"
    )]
    pub(crate) folder: Option<String>,
    /// The secret's title (in --folder, if given).
    #[arg(long, conflicts_with = "secret")]
    pub(crate) title: Option<String>,
    /// Print this field's value alone.
    #[arg(long, value_name = "NAME")]
    pub(crate) field: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: GetFormat,
    /// With --format env: put this before every variable name, such as `DB_`.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
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
    /// Create it even if a secret of the folder already has this title.
    #[arg(long)]
    pub(crate) allow_duplicate_title: bool,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The secret's UID.
    pub(crate) uid: String,
    /// Start the rotation and print its id without waiting for it.
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// Wait for a rotation already started (by id) instead of starting one.
    #[arg(long, value_name = "ROTATION_ID", conflicts_with = "no_wait")]
    pub(crate) resume: Option<syvault_ureq::Uuid>,
    /// Also print the secret's new values.
    #[arg(long)]
    pub(crate) reveal: bool,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
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
    /// With --format env: put this before every variable name, such as `PG_`.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
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
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseRevokeArgs {
    /// The lease's id.
    pub(crate) id: syvault_ureq::Uuid,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Read variables from this file too (KEY=VALUE lines); later files win.
    #[arg(long, value_name = "FILE")]
    pub(crate) env_file: Vec<PathBuf>,
    /// Leave sy's credential variables (`SY_CLIENT_SECRET`, `SY_CREDENTIALS_FILE`, …) in the
    /// command's environment.
    #[arg(long)]
    pub(crate) pass_credentials: bool,
    /// Replace resolved values in the command's output with `<concealed by sy>`.
    #[arg(long)]
    pub(crate) mask: bool,
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
pub(crate) struct WhoamiArgs {
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[arg(
        long,
        value_name = "PATH",
        help = "Check the agent listening on this Unix socket [env: SY_AGENT_SOCKET]"
    )]
    pub(crate) agent: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ProfileListArgs {
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ProfileShowArgs {
    /// The profile [default: --profile, `SY_PROFILE` or `default`].
    pub(crate) name: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ProfileRemoveArgs {
    /// The profile.
    pub(crate) name: String,
    /// Do not ask.
    #[arg(long)]
    pub(crate) yes: bool,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: TextFormat,
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

    #[test]
    fn no_example_puts_a_token_on_the_command_line() {
        let mut help = Vec::new();
        let mut command = Cli::command();
        command.build();
        for sub in std::iter::once(&command).chain(command.get_subcommands()) {
            help.push(sub.clone().render_long_help().to_string());
        }
        for text in help {
            for line in text.lines().filter(|l| l.contains("--token")) {
                let after = line.split("--token").nth(1).unwrap_or_default();
                let value = after.trim_start_matches([' ', '=']);
                assert!(
                    value.is_empty() || value.starts_with('-') || value.starts_with("<TOKEN>"),
                    "an example shows a token value: {line}"
                );
            }
            assert!(!text.contains("SY_TOKEN=vft"), "{text}");
        }
    }
}

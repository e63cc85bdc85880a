//! `sy run`: a command with the `sy://` references of its environment resolved.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::cli::{Global, RunArgs};
use crate::envfile;
use crate::failure::Failure;
use crate::mask::Masker;
use crate::resolve;
use zeroize::{Zeroize as _, Zeroizing};

const SCHEME: &str = "sy://";

/// The variables that hand sy's access to whoever holds them, removed from the command's
/// environment unless `--pass-credentials`.
pub(crate) const CREDENTIAL_VARIABLES: &[&str] = &[
    "SY_CLIENT_SECRET",
    "SY_CLIENT_ID",
    "SY_SERVER",
    "SY_CREDENTIALS_FILE",
    "SY_PROFILE",
    "SY_TOKEN",
    "SY_CLIENT_KEY",
    crate::agent::ENV_SOCKET,
];

pub(crate) fn run(global: &Global, args: RunArgs) -> Result<(), Failure> {
    let mut env = Environment(std::env::vars_os().collect());
    for path in &args.env_file {
        let text = std::fs::read_to_string(path).map_err(|error| {
            Failure::usage(format!("cannot read env file {}: {error}", path.display()))
        })?;
        let vars = envfile::parse(&text).map_err(|(line, reason)| {
            Failure::usage(format!("{}:{line}: {reason}", path.display()))
        })?;
        for (key, value) in vars {
            let key = OsString::from(key);
            env.0.retain(|(k, _)| *k != key);
            env.0.push((key, value.into()));
        }
    }

    let references: Vec<(usize, String)> = env
        .0
        .iter()
        .enumerate()
        .filter_map(|(i, (_, value))| {
            let value = value.to_str()?;
            value.starts_with(SCHEME).then(|| (i, value.to_owned()))
        })
        .collect();
    let mut secrets = Vec::new();
    if !references.is_empty() {
        secrets = resolve_into(
            global,
            args.agent.path().as_deref(),
            &mut env.0,
            &references,
        )?;
    }
    if !args.pass_credentials {
        env.0.retain(|(name, _)| !is_credential(name));
    }

    let mut parts = args.command.into_iter();
    let program = parts.next().unwrap_or_default();
    let mut command = Command::new(&program);
    // `Command` keeps a copy of its own, which the standard library does not wipe; `exec`
    // replaces the whole process image, and with `--mask` the copy lives until `sy` exits.
    command
        .args(parts)
        .env_clear()
        .envs(env.0.iter().map(|(name, value)| (name, value)));
    drop(env);
    if args.mask {
        masked(command, &program, &secrets)
    } else {
        exec(command, &program)
    }
}

/// The child's environment. Its values are wiped when it is dropped: some are secrets.
struct Environment(Vec<(OsString, OsString)>);

impl Drop for Environment {
    fn drop(&mut self) {
        for (_, value) in std::mem::take(&mut self.0) {
            value.into_encoded_bytes().zeroize();
        }
    }
}

fn is_credential(name: &OsStr) -> bool {
    CREDENTIAL_VARIABLES.iter().any(|c| OsStr::new(c) == name)
}

/// Replaces every reference in `env` by its value and returns the values, or fails naming
/// every variable that could not be resolved; nothing is replaced then.
fn resolve_into(
    global: &Global,
    agent: Option<&Path>,
    env: &mut [(OsString, OsString)],
    references: &[(usize, String)],
) -> Result<Vec<Zeroizing<String>>, Failure> {
    let labelled: Vec<(String, &str)> = references
        .iter()
        .map(|(i, reference)| (env[*i].0.to_string_lossy().into_owned(), reference.as_str()))
        .collect();
    let values =
        resolve::resolve_labelled(global, agent, &labelled, "the command was not started")?;
    let mut secrets = Vec::new();
    for ((i, _), selected) in references.iter().zip(values) {
        env[*i].1 = OsString::from(selected.expose());
        secrets.push(Zeroizing::new(selected.expose().to_owned()));
    }
    Ok(secrets)
}

fn cannot_run(program: &OsStr, error: &std::io::Error) -> Failure {
    Failure::operation(format!("cannot run {}: {error}", program.to_string_lossy()))
}

/// Runs the command in place of `sy`, so that signals and the exit status are its own.
#[cfg(unix)]
fn exec(mut command: Command, program: &OsStr) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt as _;
    let error = command.exec();
    Err(cannot_run(program, &error))
}

/// Runs the command and exits with its status.
#[cfg(not(unix))]
// Not compiled on Unix, where mutation testing runs, so no test there could catch a mutant of
// it: cargo-mutants skips it. The `cfg_attr` never applies (this is not compiled on Unix).
#[cfg_attr(unix, mutants::skip)]
fn exec(mut command: Command, program: &OsStr) -> Result<(), Failure> {
    let status = command
        .status()
        .map_err(|error| cannot_run(program, &error))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// How long the output may stay idle after the command ended (held open by a process it left
/// behind) before `sy` stops waiting for it.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How the copies of the output are going, which the wait after the command ended watches:
/// output still read, or still being written to a reader that takes its time (a pager), is
/// waited for; output held open and idle is not.
#[derive(Default)]
struct Flow {
    /// Reads that brought output.
    reads: AtomicU64,
    /// Copies in a write.
    writing: AtomicUsize,
}

impl Flow {
    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    fn writing(&self) -> bool {
        self.writing.load(Ordering::SeqCst) > 0
    }

    /// Writes and flushes `bytes`, counted as writing meanwhile.
    fn write(&self, to: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
        self.writing.fetch_add(1, Ordering::SeqCst);
        let written = to.write_all(bytes).and_then(|()| to.flush());
        self.writing.fetch_sub(1, Ordering::SeqCst);
        written
    }
}

/// What the wait for the command's output hears: a stream that ended, or a signal to `sy`
/// after the command ended.
enum Drain {
    Ended,
    Interrupted,
}

/// Runs the command as a child whose output passes through a [`Masker`], passes signals on
/// while it runs, and exits with its status.
fn masked(
    mut command: Command,
    program: &OsStr,
    secrets: &[Zeroizing<String>],
) -> Result<(), Failure> {
    command
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (events, heard) = mpsc::channel();
    // Listening starts before the command does, so that a signal sent as soon as it has
    // started (by whoever saw its first output) is not taken by `sy`'s default action.
    let forwarding = signals::forward(events.clone());
    let mut child = command
        .spawn()
        .map_err(|error| cannot_run(program, &error))?;
    forwarding.child_started(child.id());
    let masker = Masker::new(secrets.iter().map(|secret| secret.as_bytes()));
    let flow = Arc::new(Flow::default());
    let mut streams = 0;
    if let Some(out) = child.stdout.take() {
        pump(
            out,
            std::io::stdout(),
            masker.clone(),
            Arc::clone(&flow),
            events.clone(),
        );
        streams += 1;
    }
    if let Some(err) = child.stderr.take() {
        pump(err, std::io::stderr(), masker, Arc::clone(&flow), events);
        streams += 1;
    }
    // The command's process id stays its own until it is reaped: forwarding ends in between,
    // so that no signal goes to a process that reused the id.
    signals::wait_exited(child.id());
    forwarding.child_ended();
    let status = child.wait().map_err(|error| cannot_run(program, &error))?;
    // Each copy ends at the end of its stream. Output still coming or still being written is
    // waited for; output that a process left behind holds open stops being waited for once
    // it has been idle for the grace; a signal to `sy` ends the wait at once.
    let mut until = Instant::now() + DRAIN_GRACE;
    let mut reads = flow.reads();
    while streams > 0 {
        match heard.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Drain::Ended) => streams -= 1,
            Ok(Drain::Interrupted) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if flow.reads() == reads && !flow.writing() {
                    break;
                }
                reads = flow.reads();
                until = Instant::now() + DRAIN_GRACE;
            }
        }
    }
    signals::exit_like(status)
}

/// Copies `from` to `to` through the masker on a thread of its own, then says so on `done`.
fn pump(
    from: impl Read + Send + 'static,
    to: impl Write + Send + 'static,
    masker: Masker,
    flow: Arc<Flow>,
    done: mpsc::Sender<Drain>,
) {
    let spawned = std::thread::Builder::new()
        .name("sy-mask".into())
        .spawn(move || {
            copy_masked(from, to, masker, &flow);
            let _ = done.send(Drain::Ended);
        });
    drop(spawned);
}

/// Copies `from` to `to` through the masker until the end of `from` or a read that fails,
/// flushing after every read so that interactive output is not delayed. A writer that went
/// away (`| head`) stops the copy, not the command.
fn copy_masked(mut from: impl Read, mut to: impl Write, mut masker: Masker, flow: &Flow) {
    // The command's output as read, values not yet concealed: wiped when dropped.
    let mut buf = Zeroizing::new(vec![0_u8; crate::mask::CHUNK]);
    let mut out = Vec::new();
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                flow.read();
                masker.push(&buf[..n], &mut out);
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        if !out.is_empty() {
            if flow.write(&mut to, &out).is_err() {
                return;
            }
            out.clear();
        }
    }
    masker.finish(&mut out);
    let _ = flow.write(&mut to, &out);
}

#[cfg(unix)]
mod signals {
    use std::process::ExitStatus;
    use std::sync::{Arc, Mutex, PoisonError, mpsc};

    use rustix::process::{Pid, Signal};
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
    use signal_hook::iterator::SignalsInfo;
    use signal_hook::iterator::exfiltrator::WithOrigin;
    use signal_hook::low_level::siginfo::Cause;

    use super::Drain;

    /// Signals passed on to the command.
    const FORWARDED: [i32; 7] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH];

    /// Of those, the ones that end `sy`'s wait for the output once the command has ended.
    const ENDING: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

    /// Passes signals on to the command until it has ended. Its thread listens until `sy`
    /// exits, which follows the end of the command within the grace for its output.
    pub(super) struct Forwarding {
        /// The thread acts on a signal only with this lock held.
        target: Arc<Mutex<Target>>,
    }

    /// Where a signal to `sy` goes.
    enum Target {
        /// Held until the command has started, then passed on.
        Starting(Vec<Signal>),
        Running(Pid),
        /// To the wait for the command's output, which it may end.
        Ended,
    }

    /// Runs `act` with the lock the signal thread holds while it acts on a signal.
    fn locked<R>(target: &Mutex<Target>, act: impl FnOnce(&mut Target) -> R) -> R {
        act(&mut target.lock().unwrap_or_else(PoisonError::into_inner))
    }

    impl Forwarding {
        /// Passes on to the command `pid` what came while it was being started, and what
        /// comes from now on.
        pub(super) fn child_started(&self, pid: u32) {
            let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
                return;
            };
            locked(&self.target, |target| {
                if let Target::Starting(held) = std::mem::replace(target, Target::Running(pid)) {
                    for signal in held {
                        let _ = rustix::process::kill_process(pid, signal);
                    }
                }
            });
        }

        /// Stops passing signals on: the command has ended, and its id is about to be freed.
        /// A signal that would have ended it now ends the wait for its output instead.
        pub(super) fn child_ended(&self) {
            locked(&self.target, |target| *target = Target::Ended);
        }
    }

    /// Listens for the signals to pass on to the command, which [`Forwarding::child_started`]
    /// names; once it has ended, says so on `events` for those that end the wait. Those the
    /// terminal's driver sent (Ctrl-C, a resize) reached the command already, as it is in the
    /// same process group, and are not sent twice.
    pub(super) fn forward(events: mpsc::Sender<Drain>) -> Forwarding {
        let target = Arc::new(Mutex::new(Target::Starting(Vec::new())));
        let Ok(mut signals) = SignalsInfo::<WithOrigin>::new(FORWARDED) else {
            return Forwarding { target };
        };
        let shared = Arc::clone(&target);
        let spawned = std::thread::Builder::new()
            .name("sy-signals".into())
            .spawn(move || {
                for origin in signals.forever() {
                    let from_terminal = matches!(origin.cause, Cause::Kernel);
                    locked(&shared, |target| {
                        on_signal(target, origin.signal, from_terminal, &events);
                    });
                }
            });
        drop(spawned);
        Forwarding { target }
    }

    /// Acts on `signal` to `sy`: holds or passes it on while the command runs (unless the
    /// terminal's driver sent it, to the command too), or ends the wait for the output.
    fn on_signal(
        target: &mut Target,
        signal: i32,
        from_terminal: bool,
        events: &mpsc::Sender<Drain>,
    ) {
        match (target, Signal::from_named_raw(signal)) {
            (Target::Starting(_) | Target::Running(_), _) if from_terminal => {}
            (Target::Starting(held), Some(signal)) => held.push(signal),
            (Target::Running(pid), Some(signal)) => {
                let _ = rustix::process::kill_process(*pid, signal);
            }
            (Target::Ended, _) if ENDING.contains(&signal) => {
                let _ = events.send(Drain::Interrupted);
            }
            // Not one that ends the wait.
            _ => {}
        }
    }

    /// Waits until the child `pid` has ended, leaving it to be reaped (its id stays taken until
    /// then). Where `waitid` cannot leave a child unreaped, returns at once, and the window
    /// between reaping and [`Forwarding::child_ended`] stays open.
    pub(super) fn wait_exited(pid: u32) {
        #[cfg(not(any(target_os = "openbsd", target_os = "redox", target_os = "cygwin")))]
        {
            use rustix::process::{WaitId, WaitIdOptions, waitid};
            let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
                return;
            };
            while let Err(rustix::io::Errno::INTR) = waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED.union(WaitIdOptions::NOWAIT),
            ) {}
        }
        #[cfg(any(target_os = "openbsd", target_os = "redox", target_os = "cygwin"))]
        let _ = pid;
    }

    /// Ends `sy` the way the command ended: with its exit code, or by its signal.
    pub(super) fn exit_like(status: ExitStatus) -> ! {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(code) = status.code() {
            std::process::exit(code);
        }
        let signal = status.signal().unwrap_or(1);
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        std::process::exit(128 + signal)
    }

    #[cfg(test)]
    mod tests {
        use std::os::unix::process::ExitStatusExt as _;
        use std::process::{Child, Command, Stdio};
        use std::sync::{Arc, Mutex, mpsc};
        use std::time::{Duration, Instant};

        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGWINCH};

        use super::{Drain, Forwarding, Target, locked, on_signal};

        fn starting() -> Forwarding {
            Forwarding {
                target: Arc::new(Mutex::new(Target::Starting(Vec::new()))),
            }
        }

        fn command() -> Child {
            Command::new("sleep")
                .arg("30")
                .stdin(Stdio::null())
                .spawn()
                .unwrap()
        }

        /// The signal that ended `child` within ten seconds, or `None` if it was still running
        /// (it is killed then).
        fn ended_by(mut child: Child) -> Option<i32> {
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Some(status) = child.try_wait().unwrap() {
                    return status.signal();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            child.kill().unwrap();
            child.wait().unwrap();
            None
        }

        #[test]
        fn a_signal_while_the_command_starts_is_passed_on_once_it_started() {
            let (events, heard) = mpsc::channel();
            let forwarding = starting();
            locked(&forwarding.target, |target| {
                on_signal(target, SIGTERM, false, &events);
            });
            let child = command();
            forwarding.child_started(child.id());
            assert_eq!(ended_by(child), Some(SIGTERM));
            assert!(heard.try_recv().is_err());
        }

        #[test]
        fn what_the_terminal_sent_is_neither_held_nor_passed_on() {
            let (events, heard) = mpsc::channel();
            let forwarding = starting();
            let signal = |signal, from_terminal| {
                locked(&forwarding.target, |target| {
                    on_signal(target, signal, from_terminal, &events);
                });
            };
            signal(SIGINT, true);
            let child = command();
            forwarding.child_started(child.id());
            signal(SIGINT, true);
            // Signals pending together are taken lowest first: had either SIGINT been sent,
            // it would have ended the command before this SIGTERM.
            signal(SIGTERM, false);
            assert_eq!(ended_by(child), Some(SIGTERM));
            assert!(heard.try_recv().is_err());
        }

        #[test]
        fn once_the_command_ended_only_an_ending_signal_ends_the_wait() {
            let (events, heard) = mpsc::channel();
            let mut target = Target::Ended;
            on_signal(&mut target, SIGWINCH, false, &events);
            on_signal(&mut target, SIGUSR1, false, &events);
            assert!(heard.try_recv().is_err());
            on_signal(&mut target, SIGTERM, false, &events);
            assert!(matches!(heard.try_recv(), Ok(Drain::Interrupted)));
            // Ctrl-C at the terminal too.
            on_signal(&mut target, SIGINT, true, &events);
            assert!(matches!(heard.try_recv(), Ok(Drain::Interrupted)));
        }
    }
}

#[cfg(not(unix))]
#[cfg_attr(unix, mutants::skip)] // As for `exec` above.
mod signals {
    use std::process::ExitStatus;

    use std::sync::mpsc;

    use super::Drain;

    pub(super) struct Forwarding;

    impl Forwarding {
        pub(super) fn child_started(&self, _pid: u32) {}
        pub(super) fn child_ended(&self) {}
    }

    /// Signals are not passed on outside Unix.
    pub(super) fn forward(_events: mpsc::Sender<Drain>) -> Forwarding {
        Forwarding
    }

    pub(super) fn wait_exited(_pid: u32) {}

    pub(super) fn exit_like(status: ExitStatus) -> ! {
        std::process::exit(status.code().unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::io::{self, Read, Write};
    use std::rc::Rc;

    use super::{Flow, copy_masked};
    use crate::mask::Masker;

    /// A reader that returns its reads in order and notes, before each, what had been written.
    struct Script {
        reads: VecDeque<io::Result<&'static str>>,
        written: Rc<RefCell<Vec<u8>>>,
        seen: Vec<String>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.seen
                .push(String::from_utf8(self.written.borrow().clone()).unwrap());
            match self.reads.pop_front() {
                None => Ok(0),
                Some(Ok(text)) => {
                    buf[..text.len()].copy_from_slice(text.as_bytes());
                    Ok(text.len())
                }
                Some(Err(error)) => Err(error),
            }
        }
    }

    /// A writer into a shared buffer, which checks that the copy counts it as writing.
    struct Shared(Rc<RefCell<Vec<u8>>>, Rc<Flow>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            assert!(self.1.writing(), "a write the wait would not see");
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            assert!(self.1.writing(), "a flush the wait would not see");
            Ok(())
        }
    }

    /// Copies the reads through a masker of `values`: what was written, what the writer held
    /// before each read, and the reads left.
    fn copy(reads: Vec<io::Result<&'static str>>, values: &[&str]) -> (String, Vec<String>, usize) {
        let written = Rc::new(RefCell::new(Vec::new()));
        let given = reads.iter().filter(|read| read.is_ok()).count();
        let mut script = Script {
            reads: reads.into(),
            written: Rc::clone(&written),
            seen: Vec::new(),
        };
        let masker = Masker::new(values.iter().map(|v| v.as_bytes()));
        let flow = Rc::new(Flow::default());
        copy_masked(
            &mut script,
            Shared(Rc::clone(&written), Rc::clone(&flow)),
            masker,
            &flow,
        );
        let left = script.reads.len();
        let taken = script.reads.iter().filter(|read| read.is_ok()).count();
        // Every read that brought output is counted, and no write is left counted.
        assert_eq!(flow.reads(), u64::try_from(given - taken).unwrap());
        assert!(!flow.writing());
        let text = String::from_utf8(written.take()).unwrap();
        (text, script.seen, left)
    }

    #[test]
    fn each_read_is_written_before_the_next_one() {
        // Interactive output (a prompt, a progress line) must not wait for the stream's end.
        let (text, seen, _) = copy(
            vec![Ok("Password: "), Ok("token=hunter2\n"), Ok("done")],
            &["hunter2"],
        );
        assert_eq!(text, "Password: token=<concealed by sy>\ndone");
        assert_eq!(
            seen,
            [
                "",
                "Password: ",
                "Password: token=<concealed by sy>\n",
                "Password: token=<concealed by sy>\ndone",
            ]
        );
    }

    #[test]
    fn an_interrupted_read_is_retried() {
        let interrupted = io::Error::from(io::ErrorKind::Interrupted);
        let (text, _, left) = copy(
            vec![Ok("one "), Err(interrupted), Ok("two hunter2")],
            &["hunter2"],
        );
        assert_eq!(text, "one two <concealed by sy>");
        assert_eq!(left, 0);
    }

    #[test]
    fn a_failed_read_ends_the_copy_and_what_was_held_back_is_written() {
        // "hun" could have been the start of the value: held back, then written at the end.
        let (text, _, left) = copy(
            vec![
                Ok("one hun"),
                Err(io::Error::other("the pipe broke")),
                Ok("ter2 never read"),
            ],
            &["hunter2"],
        );
        assert_eq!(text, "one hun");
        assert_eq!(left, 1);
    }
}

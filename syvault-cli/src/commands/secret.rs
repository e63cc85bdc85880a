//! `sy secret list|get|create|rotate`.

use std::io::IsTerminal as _;
use std::time::Duration;

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use syvault_ureq::proto::config::RotationPolicy;
use syvault_ureq::proto::notation::Reference;
use syvault_ureq::proto::record::Fields;
use syvault_ureq::{Error, RecordPayload, RecordUid, RotationOutcome, Secret, Uuid};

use crate::cli::{
    CreateArgs, GetArgs, GetFormat, Global, ListArgs, ListFormat, RotateArgs, TextFormat,
};
use crate::failure::Failure;
use crate::output::{self, MASK, escape};
use crate::session::Session;
use crate::spinner::Spinner;
use crate::suggest::{self, Suggester};
use crate::values::ValueReader;

/// How long `rotate` waits for the outcome unless told otherwise.
const DEFAULT_ROTATION_WAIT: Duration = Duration::from_secs(60);

pub(crate) fn list(global: &Global, args: &ListArgs) -> Result<(), Failure> {
    let session = super::session(global)?;
    let mut secrets = session.secrets().list()?;
    if let Some(spec) = &args.folder {
        let (folder, _) = super::find_folder(&session, spec)?;
        secrets.retain(|s| s.folder_id == folder.folder_id);
    }
    match args.format {
        ListFormat::Json => output::print_json(&Value::Array(
            secrets
                .iter()
                .map(|s| {
                    json!({
                        "uid": s.uid.as_str(),
                        "folder_id": s.folder_id,
                        "folder": s.folder_path.join("/"),
                        "title": s.title,
                        "type": s.record_type,
                        "revision": s.revision,
                    })
                })
                .collect(),
        )),
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = secrets
                .iter()
                .map(|s| {
                    vec![
                        s.uid.to_string(),
                        s.folder_path.join("/"),
                        s.title.clone(),
                        s.record_type.clone(),
                        s.revision.to_string(),
                    ]
                })
                .collect();
            output::print(&output::table(
                &["UID", "FOLDER", "TITLE", "TYPE", "REVISION"],
                &rows,
            ))
        }
    }
}

pub(crate) fn get(global: &Global, args: &GetArgs) -> Result<(), Failure> {
    if args.prefix.is_some() && args.format != GetFormat::Env {
        return Err(Failure::usage("--prefix goes with --format env"));
    }
    // A name that is neither a UID nor a `sy://` path is refused before anything is read.
    let by_reference = match &args.secret {
        Some(text) if text.parse::<RecordUid>().is_ok() => None,
        Some(text) if text.starts_with("sy://") => Some(record_reference(text)?),
        Some(text) => return Err(not_a_uid(global, text)),
        None => None,
    };
    let session = super::session(global)?;
    let uid = match (&args.secret, by_reference) {
        (_, Some(reference)) => match session.secrets().notation(&reference.to_string()) {
            Ok(selected) => selected.expose().to_owned(),
            Err(Error::Notation(error)) => return Err(Suggester::new(&session).explain(error)),
            Err(error) => return Err(error.into()),
        },
        (Some(uid), None) => uid.clone(),
        (None, None) => by_title(
            &session,
            args.folder.as_deref(),
            args.title.as_deref().unwrap_or_default(),
        )?,
    };
    let secret = session.secrets().get(&uid)?;
    if let Some(name) = &args.field {
        let Some(value) = secret.field(name) else {
            let names: Vec<&str> = secret.fields.names().collect();
            let close: Vec<String> = suggest::closest(name, names.iter().copied())
                .into_iter()
                .map(|n| format!("`{}`", escape(n)))
                .collect();
            let all: Vec<String> = names.iter().map(|n| format!("`{}`", escape(n))).collect();
            let hint = match (close.as_slice(), all.is_empty()) {
                (_, true) => "; it has no fields".to_owned(),
                ([], false) => format!("; its fields are {}", all.join(", ")),
                (close, false) => format!(
                    "; did you mean {}? (its fields: {})",
                    close.join(" or "),
                    all.join(", ")
                ),
            };
            return Err(Failure::operation(format!(
                "secret {} has no field `{}`{hint}",
                secret.uid,
                escape(name)
            ))
            .category("not_found"));
        };
        return output::print(&output::concat_zeroizing(&[value.expose(), "\n"]));
    }
    match args.format {
        GetFormat::Json => output::print_json(&SecretJson::new(&secret)),
        GetFormat::Env => output::print(&output::env_lines(
            args.prefix.as_deref(),
            secret
                .fields
                .iter()
                .map(|(name, value)| (name, value.expose())),
        )?),
        GetFormat::Table => output::print(&secret_table(&secret, args.reveal)),
    }
}

/// `sy://FOLDER/TITLE` (no selector) as the reference of the record's UID.
fn record_reference(text: &str) -> Result<Reference, Failure> {
    let reference = format!("{}/uid", text.trim_end_matches('/'));
    match reference.parse::<Reference>() {
        Ok(parsed) => Ok(parsed),
        Err(error) => Err(Failure::usage(format!(
            "`{}` does not name a secret: write sy://FOLDER/TITLE, without a selector ({error})",
            escape(text)
        ))),
    }
}

/// The usage error for a name that is not a UID, pointing at the secrets with that title
/// when the credentials can list them.
fn not_a_uid(global: &Global, text: &str) -> Failure {
    let failure = Failure::usage(format!(
        "`{}` is not a secret UID: name the secret by UID, by sy://FOLDER/TITLE, or with \
         --folder FOLDER --title TITLE",
        escape(text)
    ));
    let Ok(session) = super::session(global) else {
        return failure;
    };
    let Ok(secrets) = session.secrets().list() else {
        return failure;
    };
    let titled: Vec<String> = secrets
        .iter()
        .filter(|s| s.title == text)
        .map(|s| format!("sy://{}/{}", s.folder_path.join("/"), s.title))
        .collect();
    if titled.is_empty() {
        return failure;
    }
    failure.hint(format!(
        "the secret titled `{}` is {}",
        escape(text),
        titled.join(", ")
    ))
}

/// The UID of the secret titled `title` (in `folder`, if given).
fn by_title(session: &Session, folder: Option<&str>, title: &str) -> Result<String, Failure> {
    let folder = folder
        .map(|spec| super::find_folder(session, spec).map(|(info, _)| info))
        .transpose()?;
    let secrets = session.secrets().list()?;
    let in_folder: Vec<_> = secrets
        .iter()
        .filter(|s| folder.as_ref().is_none_or(|f| s.folder_id == f.folder_id))
        .collect();
    let matching: Vec<_> = in_folder.iter().filter(|s| s.title == title).collect();
    match matching.as_slice() {
        [one] => Ok(one.uid.to_string()),
        [] => {
            let close: Vec<String> =
                suggest::closest(title, in_folder.iter().map(|s| s.title.as_str()))
                    .into_iter()
                    .map(|t| format!("`{}`", escape(t)))
                    .collect();
            let hint = if close.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", close.join(" or "))
            };
            let place = folder.map_or(String::new(), |f| format!(" in `{}`", escape(&f.name)));
            Err(
                Failure::operation(format!("no secret titled `{}`{place}{hint}", escape(title)))
                    .category("not_found"),
            )
        }
        several => {
            let places: Vec<String> = several
                .iter()
                .map(|s| format!("{} in `{}`", s.uid, escape(&s.folder_path.join("/"))))
                .collect();
            Err(Failure::operation(format!(
                "several secrets are titled `{}`: {}; give --folder or the UID",
                escape(title),
                places.join(", ")
            ))
            .category("ambiguous"))
        }
    }
}

/// The stable JSON form of a secret, values included. It borrows them, so that the output,
/// which is wiped, is the only copy made; keys in alphabetical order.
#[derive(Serialize)]
struct SecretJson<'a> {
    fields: FieldsJson<'a>,
    folder_id: Uuid,
    notes: &'a str,
    revision: u64,
    title: &'a str,
    #[serde(rename = "type")]
    record_type: &'a str,
    uid: &'a str,
}

impl<'a> SecretJson<'a> {
    fn new(secret: &'a Secret) -> Self {
        Self {
            fields: FieldsJson(&secret.fields),
            folder_id: secret.folder_id,
            notes: secret.notes.expose(),
            revision: secret.revision,
            title: &secret.title,
            record_type: &secret.record_type,
            uid: secret.uid.as_str(),
        }
    }
}

/// A secret's fields as one JSON object, by name in alphabetical order, values borrowed.
struct FieldsJson<'a>(&'a Fields);

impl Serialize for FieldsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let by_name: BTreeMap<&str, &str> = self
            .0
            .iter()
            .map(|(name, value)| (name, value.expose()))
            .collect();
        serializer.collect_map(by_name)
    }
}

/// The stable JSON form of a rotation's outcome, with the new values if asked for.
#[derive(Serialize)]
struct OutcomeJson<'a> {
    adopted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<FieldsJson<'a>>,
    revision: u64,
    rotation_id: Uuid,
    status: String,
    uid: &'a str,
}

fn secret_table(secret: &Secret, reveal: bool) -> String {
    let shown = |value: &str| {
        if reveal {
            value.to_owned()
        } else {
            MASK.to_owned()
        }
    };
    let mut rows = vec![
        vec!["uid".to_owned(), secret.uid.to_string()],
        vec!["title".to_owned(), secret.title.clone()],
        vec!["type".to_owned(), secret.record_type.clone()],
        vec!["folder_id".to_owned(), secret.folder_id.to_string()],
        vec!["revision".to_owned(), secret.revision.to_string()],
    ];
    for (name, value) in secret.fields.iter() {
        rows.push(vec![format!("field/{name}"), shown(value.expose())]);
    }
    if !secret.notes.expose().is_empty() {
        rows.push(vec!["notes".to_owned(), shown(secret.notes.expose())]);
    }
    output::table(&["KEY", "VALUE"], &rows)
}

pub(crate) fn create(global: &Global, args: &CreateArgs) -> Result<(), Failure> {
    // Every value is read before anything is sent, so a bad one stops the command early.
    let mut reader = ValueReader::default();
    let mut payload = RecordPayload::new(args.title.clone());
    if let Some(record_type) = &args.record_type {
        payload.record_type.clone_from(record_type);
    }
    for (number, spec) in args.fields.iter().enumerate() {
        let Some((name, value)) = spec.split_once('=') else {
            return Err(Failure::usage(format!(
                "--field takes NAME=VALUE (VALUE may be @PATH or -), got a value without `=` \
                 for field number {}",
                number + 1
            )));
        };
        if name.is_empty() {
            return Err(Failure::usage("--field needs a name before `=`"));
        }
        let value = reader.read(&format!("field {name}"), value)?;
        payload.fields.set(name, value);
    }
    if let Some(notes) = &args.notes {
        payload.notes = reader.read("notes", notes)?.into();
    }
    let session = super::session(global)?;
    let (folder, path) = super::find_folder(&session, &args.folder)?;
    if !args.allow_duplicate_title {
        let existing = session.secrets().list()?;
        if let Some(same) = existing
            .iter()
            .find(|s| s.folder_id == folder.folder_id && s.title == args.title)
        {
            return Err(Failure::operation(format!(
                "a secret titled `{}` already exists in `{}` ({}): references by title would \
                 match both; choose another title, or pass --allow-duplicate-title",
                escape(&args.title),
                escape(&same.folder_path.join("/")),
                same.uid
            ))
            .category("conflict")
            .detail("uid", same.uid.to_string()));
        }
    }
    let secret = session.secrets().create(folder.folder_id, payload)?;
    match args.format {
        TextFormat::Json => output::print_json(&json!({
            "uid": secret.uid.as_str(),
            "folder_id": secret.folder_id,
            "folder": path,
            "title": secret.title,
            "type": secret.record_type,
            "revision": secret.revision,
        })),
        TextFormat::Text => output::print(&format!("{}\n", secret.uid)),
    }
}

pub(crate) fn rotate(global: &Global, args: &RotateArgs) -> Result<(), Failure> {
    let uid: RecordUid = args.uid.parse()?;
    let json = args.format == TextFormat::Json;
    let wait = global.timeout(DEFAULT_ROTATION_WAIT)?;
    let policy = RotationPolicy::default().with_deadline(wait);
    let session = Session::open_with(global, wait, |builder| builder.rotation(policy))?;

    let (rotation_id, adopted) = if let Some(id) = args.resume {
        (id, None)
    } else {
        let started = session.secrets().start_rotation(uid.as_str())?;
        (started.rotation_id, Some(started.adopted))
    };
    let resume = format!("sy secret rotate {uid} --resume {rotation_id}");
    if !json {
        let line = match adopted {
            Some(false) => format!("rotation {rotation_id} started"),
            Some(true) => format!(
                "rotation {rotation_id} was already running (started earlier or by someone \
                 else); waiting for it"
            ),
            None => format!("waiting for rotation {rotation_id}"),
        };
        eprintln!("sy: {line}");
    }
    if args.no_wait {
        return if json {
            output::print_json(&json!({
                "rotation_id": rotation_id,
                "uid": uid.as_str(),
                "status": "started",
                "revision": null,
                "adopted": adopted.unwrap_or(false),
            }))
        } else {
            output::print(&format!(
                "rotation {rotation_id} started; wait for it with `{resume}`\n"
            ))
        };
    }

    let spinner = spinner(&uid, json);
    let _interrupt = interrupt::on_signal(rotation_id, resume.clone(), json, spinner.clone());
    let result = session.secrets().resume_rotation(uid.as_str(), rotation_id);
    if let Some(spinner) = &spinner {
        spinner.finish_and_clear();
    }
    match result {
        Ok(outcome) => print_outcome(&outcome, adopted.unwrap_or(false), args.reveal, json),
        Err(Error::RotationTimeout { .. } | Error::OperationTimeout { .. }) => {
            Err(Failure::operation(format!(
                "rotation {rotation_id} did not finish within {}; it goes on on the server: wait \
                 again with `{resume}` (with --timeout for longer)",
                humantime::format_duration(wait)
            ))
            .category("timeout")
            .detail("rotation_id", rotation_id.to_string())
            .detail("resume", resume))
        }
        Err(error) => Err(Failure::from(error).detail("resume", resume)),
    }
}

/// A spinner on standard error while waiting, only when a person watches it. The rotation's
/// id is on the line above it, which keeps this one short enough not to wrap.
fn spinner(uid: &RecordUid, json: bool) -> Option<Spinner> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    Some(Spinner::start(
        Box::new(std::io::stderr()),
        format!("rotating {uid}"),
        Duration::from_millis(100),
    ))
}

fn print_outcome(
    outcome: &RotationOutcome,
    adopted: bool,
    reveal: bool,
    json: bool,
) -> Result<(), Failure> {
    if json {
        return output::print_json(&OutcomeJson {
            adopted,
            fields: reveal.then_some(FieldsJson(&outcome.secret.fields)),
            revision: outcome.revision,
            rotation_id: outcome.rotation_id,
            status: status_name(outcome),
            uid: outcome.secret.uid.as_str(),
        });
    }
    let mut text = format!(
        "rotation {} {}: {} is at revision {}\n",
        outcome.rotation_id,
        status_name(outcome),
        outcome.secret.uid,
        outcome.revision
    );
    if reveal {
        text.push_str(&secret_table(&outcome.secret, true));
    }
    output::print(&text)
}

fn status_name(outcome: &RotationOutcome) -> String {
    serde_json::to_value(outcome.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", outcome.status).to_lowercase())
}

/// What an interrupted rotation says: that it goes on, and how to wait for it again.
mod interrupt {
    use syvault_ureq::Uuid;

    use crate::failure::Failure;
    use crate::spinner::Spinner;

    /// The failure an interruption by `signal` reports.
    fn interrupted(rotation_id: Uuid, resume: &str, signal: &str) -> Failure {
        Failure::operation(format!(
            "interrupted ({signal}); rotation {rotation_id} goes on on the server: wait for it \
             with `{resume}`"
        ))
        .category("interrupted")
        .detail("rotation_id", rotation_id.to_string())
        .detail("resume", resume.to_owned())
    }

    /// Until dropped, SIGINT and SIGTERM print how to resume and end the process with 130 or
    /// 143.
    #[cfg(unix)]
    pub(super) fn on_signal(
        rotation_id: Uuid,
        resume: String,
        json: bool,
        spinner: Option<Spinner>,
    ) -> Option<Guard> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;

        let mut signals = Signals::new([SIGINT, SIGTERM]).ok()?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("sy-interrupt".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    if let Some(spinner) = &spinner {
                        spinner.finish_and_clear();
                    }
                    let name = if signal == SIGINT {
                        "SIGINT"
                    } else {
                        "SIGTERM"
                    };
                    interrupted(rotation_id, &resume, name).report(json);
                    std::process::exit(128 + signal);
                }
            })
            .ok()?;
        Some(Guard(handle))
    }

    /// Stops listening when dropped.
    #[cfg(unix)]
    pub(super) struct Guard(signal_hook::iterator::Handle);

    #[cfg(unix)]
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.close();
        }
    }

    #[cfg(not(unix))]
    pub(super) fn on_signal(
        _rotation_id: Uuid,
        _resume: String,
        _json: bool,
        _spinner: Option<Spinner>,
    ) -> Option<()> {
        let _ = interrupted;
        None
    }
}

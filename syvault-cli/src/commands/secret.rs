//! `sy secret list|get|create|rotate`.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value, json};
use syvault_ureq::proto::config::RotationPolicy;
use syvault_ureq::{Error, RecordPayload, RotationOutcome, Secret};

use crate::cli::{CreateArgs, GetArgs, GetFormat, Global, ListArgs, ListFormat, RotateArgs};
use crate::credentials;
use crate::failure::Failure;
use crate::output::{self, MASK};
use crate::values::ValueReader;

pub(crate) fn list(global: &Global, args: &ListArgs) -> Result<(), Failure> {
    let client = credentials::client(global)?;
    let mut secrets = client.secrets().list()?;
    if let Some(spec) = &args.folder {
        let folder = super::find_folder(&client, spec)?;
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
    let client = credentials::client(global)?;
    let secret = client.secrets().get(&args.uid)?;
    if let Some(name) = &args.field {
        let value = secret.field(name).ok_or_else(|| {
            Failure::operation(format!("secret {} has no field `{name}`", secret.uid))
        })?;
        return output::print(&format!("{}\n", value.expose()));
    }
    match args.format {
        GetFormat::Json => output::print_json(&secret_json(&secret)),
        GetFormat::Env => {
            let mut text = String::new();
            for (name, value) in secret.fields.iter() {
                let line = format!(
                    "{}={}\n",
                    output::env_name(name),
                    output::shell_quote(value.expose())
                );
                text.push_str(&line);
            }
            output::print(&text)
        }
        GetFormat::Table => output::print(&secret_table(&secret, args.reveal)),
    }
}

/// The stable JSON form of a secret, values included.
fn secret_json(secret: &Secret) -> Value {
    let fields: Map<String, Value> = secret
        .fields
        .iter()
        .map(|(name, value)| (name.to_owned(), Value::from(value.expose())))
        .collect();
    json!({
        "uid": secret.uid.as_str(),
        "folder_id": secret.folder_id,
        "title": secret.title,
        "type": secret.record_type,
        "revision": secret.revision,
        "fields": fields,
        "notes": secret.notes.expose(),
    })
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
    for spec in &args.fields {
        let Some((name, value)) = spec.split_once('=') else {
            return Err(Failure::usage(format!(
                "--field takes NAME=VALUE (VALUE may be @PATH or -), got a value without `=` \
                 for field number {}",
                args.fields.iter().position(|f| f == spec).unwrap_or(0) + 1
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
    let client = credentials::client(global)?;
    let folder = super::find_folder(&client, &args.folder)?;
    let secret = client.secrets().create(folder.folder_id, payload)?;
    output::print(&format!("{}\n", secret.uid))
}

pub(crate) fn rotate(global: &Global, args: &RotateArgs) -> Result<(), Failure> {
    let deadline = if args.no_wait {
        Duration::ZERO
    } else {
        args.timeout
            .map_or(RotationPolicy::default().deadline, Into::into)
    };
    let policy = RotationPolicy::default().with_deadline(deadline);
    let client = credentials::configured(global)?.rotation(policy).build()?;

    let spinner = spinner(args.no_wait, &args.uid);
    let result = match args.resume {
        Some(rotation_id) => client.secrets().resume_rotation(&args.uid, rotation_id),
        None => client.secrets().rotate(&args.uid),
    };
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    match result {
        Ok(outcome) => print_outcome(&outcome, args.reveal),
        Err(Error::RotationTimeout { rotation_id }) if args.no_wait => output::print(&format!(
            "rotation {rotation_id} started; wait for it with `sy secret rotate {} --resume \
             {rotation_id}`\n",
            args.uid
        )),
        Err(Error::RotationTimeout { rotation_id }) => Err(Failure::operation(format!(
            "rotation {rotation_id} did not finish in time; wait again with `sy secret rotate \
             {} --resume {rotation_id}`",
            args.uid
        ))),
        Err(error) => Err(error.into()),
    }
}

/// A spinner on standard error while waiting, only when a person watches it.
fn spinner(no_wait: bool, uid: &str) -> Option<ProgressBar> {
    if no_wait || !std::io::stderr().is_terminal() {
        return None;
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message(format!("rotating {uid}"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    Some(spinner)
}

fn print_outcome(outcome: &RotationOutcome, reveal: bool) -> Result<(), Failure> {
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

//! `sy lease create|list|renew|revoke`.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use syvault_ureq::proto::lease::{format_rfc3339, ttl_seconds};
use syvault_ureq::{Lease, LeaseInfo, RecordUid, Uuid};
use zeroize::Zeroizing;

use crate::cli::{
    GetFormat, Global, LeaseCreateArgs, LeaseListArgs, LeaseRenewArgs, LeaseRevokeArgs, ListFormat,
    TextFormat,
};
use crate::failure::Failure;
use crate::output::{self, MASK};

/// Checks a TTL before any credentials are read or requests sent: a TTL out of range is bad
/// input (exit status 2), like a TTL that does not parse. The message uses the help's words.
fn checked_ttl(ttl: humantime::Duration) -> Result<Duration, Failure> {
    let given = ttl;
    let ttl: Duration = ttl.into();
    ttl_seconds(ttl).map_err(|_| {
        Failure::usage(format!(
            "--ttl {given} is out of range: a lease lasts from 1m to 24h, in whole seconds"
        ))
    })?;
    Ok(ttl)
}

pub(crate) fn create(global: &Global, args: &LeaseCreateArgs) -> Result<(), Failure> {
    let ttl = checked_ttl(args.ttl)?;
    args.uid.parse::<RecordUid>()?;
    if args.prefix.is_some() && args.format != GetFormat::Env {
        return Err(Failure::usage("--prefix goes with --format env"));
    }
    let session = super::session(global)?;
    let lease = session.dynamic().lease(&args.uid, ttl)?;
    match args.format {
        GetFormat::Json => output::print_json(&LeaseJson::new(&lease)),
        GetFormat::Env => output::print(&lease_env(&lease, args.prefix.as_deref())?),
        GetFormat::Table => output::print(&lease_table(&lease, args.reveal)),
    }
}

pub(crate) fn list(global: &Global, args: &LeaseListArgs) -> Result<(), Failure> {
    let session = super::session(global)?;
    let mut leases = session.dynamic().leases()?;
    leases.sort_by_key(|l| (l.expires_at, l.lease_id));
    match args.format {
        ListFormat::Json => {
            output::print_json(&Value::Array(leases.iter().map(info_json).collect()))
        }
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = leases
                .iter()
                .map(|l| {
                    vec![
                        l.lease_id.to_string(),
                        l.record_uid.to_string(),
                        l.username.clone(),
                        format_rfc3339(l.expires_at),
                    ]
                })
                .collect();
            output::print(&output::table(
                &["LEASE_ID", "RECORD_UID", "USERNAME", "EXPIRES_AT"],
                &rows,
            ))
        }
    }
}

pub(crate) fn renew(global: &Global, args: &LeaseRenewArgs) -> Result<(), Failure> {
    let ttl = checked_ttl(args.ttl)?;
    let session = super::session(global)?;
    let info = session.dynamic().renew(args.id, ttl)?;
    match args.format {
        TextFormat::Json => output::print_json(&info_json(&info)),
        TextFormat::Text => output::print(&format!(
            "lease {} expires at {}\n",
            info.lease_id,
            format_rfc3339(info.expires_at)
        )),
    }
}

pub(crate) fn revoke(global: &Global, args: &LeaseRevokeArgs) -> Result<(), Failure> {
    let session = super::session(global)?;
    session.dynamic().revoke(args.id)?;
    match args.format {
        TextFormat::Json => output::print_json(&json!({
            "lease_id": args.id,
            "revoked": true,
        })),
        TextFormat::Text => output::print(&format!("lease {} revoked\n", args.id)),
    }
}

/// The stable JSON form of a new lease, password included. It borrows the secrets, so that
/// the output, which is wiped, is the only copy made; keys in alphabetical order.
#[derive(Serialize)]
struct LeaseJson<'a> {
    connection_string: &'a str,
    created_at: String,
    expires_at: String,
    lease_id: Uuid,
    password: &'a str,
    record_uid: &'a str,
    username: &'a str,
}

impl<'a> LeaseJson<'a> {
    fn new(lease: &'a Lease) -> Self {
        Self {
            connection_string: lease.connection_string.expose(),
            created_at: format_rfc3339(lease.created_at),
            expires_at: format_rfc3339(lease.expires_at),
            lease_id: lease.lease_id,
            password: lease.password.expose(),
            record_uid: lease.record_uid.as_str(),
            username: &lease.username,
        }
    }
}

/// The stable JSON form of a listed lease; listings never hold passwords.
fn info_json(info: &LeaseInfo) -> Value {
    json!({
        "lease_id": info.lease_id,
        "record_uid": info.record_uid.as_str(),
        "username": info.username,
        "created_at": format_rfc3339(info.created_at),
        "expires_at": format_rfc3339(info.expires_at),
    })
}

/// The lease's keys and values, in the order of the JSON form.
/// The values are wiped when dropped: the password and the connection string are secrets.
fn lease_rows(lease: &Lease) -> [(&'static str, Zeroizing<String>); 7] {
    [
        ("lease_id", lease.lease_id.to_string()),
        ("record_uid", lease.record_uid.to_string()),
        ("username", lease.username.clone()),
        ("password", lease.password.expose().to_owned()),
        (
            "connection_string",
            lease.connection_string.expose().to_owned(),
        ),
        ("created_at", format_rfc3339(lease.created_at)),
        ("expires_at", format_rfc3339(lease.expires_at)),
    ]
    .map(|(name, value)| (name, Zeroizing::new(value)))
}

/// `NAME='value'` lines, as `sy secret get --format env` writes them.
fn lease_env(lease: &Lease, prefix: Option<&str>) -> Result<Zeroizing<String>, Failure> {
    let rows = lease_rows(lease);
    output::env_lines(
        prefix,
        rows.iter().map(|(name, value)| (*name, value.as_str())),
    )
}

fn lease_table(lease: &Lease, reveal: bool) -> String {
    let password = lease.password.expose();
    let rows: Vec<Vec<String>> = lease_rows(lease)
        .into_iter()
        .map(|(name, value)| {
            let shown = match name {
                _ if reveal => value.as_str().to_owned(),
                "password" => MASK.to_owned(),
                "connection_string" => mask_url_password(&value, password),
                _ => value.as_str().to_owned(),
            };
            vec![name.to_owned(), shown]
        })
        .collect();
    output::table(&["KEY", "VALUE"], &rows)
}

/// A connection URL with its password replaced by the mask, so that the host, port and
/// database stay visible. Anything that does not look like `scheme://user:password@host…` is
/// masked whole, as is a URL whose password shows up anywhere else.
fn mask_url_password(url: &str, password: &str) -> String {
    let masked = (|| {
        let (scheme, rest) = url.split_once("://")?;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let at = rest[..authority_end].rfind('@')?;
        let colon = rest[..at].find(':')?;
        Some(format!(
            "{scheme}://{}:{MASK}{}",
            &rest[..colon],
            &rest[at..]
        ))
    })();
    match masked {
        Some(masked) if password.is_empty() || !masked.contains(password) => masked,
        _ => MASK.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_keeps_the_connection_details_and_hides_the_password() {
        assert_eq!(
            mask_url_password(
                "postgresql://vf_tmp_1:p%40ss@127.0.0.1:5432/postgres",
                "p@ss"
            ),
            format!("postgresql://vf_tmp_1:{MASK}@127.0.0.1:5432/postgres")
        );
        // No password part, or the password elsewhere: everything is masked.
        assert_eq!(mask_url_password("postgresql://db/x", "pw"), MASK);
        assert_eq!(
            mask_url_password("postgresql://u:pw@h/pw", "pw"),
            MASK.to_owned()
        );
        assert_eq!(mask_url_password("not a url", "pw"), MASK);
    }

    #[test]
    fn a_ttl_out_of_range_is_a_usage_error() {
        let short = checked_ttl(Duration::from_secs(10).into()).unwrap_err();
        assert_eq!(short.kind(), crate::failure::Kind::Usage);
        let long = checked_ttl(Duration::from_secs(25 * 3600).into()).unwrap_err();
        assert_eq!(long.kind(), crate::failure::Kind::Usage);
        assert_eq!(
            checked_ttl(Duration::from_secs(3600).into()).unwrap(),
            Duration::from_secs(3600)
        );
    }
}

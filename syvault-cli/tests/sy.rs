//! End-to-end tests of the `sy` binary against `syvault-dev` over real loopback sockets.

mod common;

use std::time::Duration;

use common::{API_KEY, DB_PASSWORD, DB_USER, Vault, assert_clean, run};
use syvault_ureq::Uuid;

// ---------------------------------------------------------------------------------------------
// init

#[test]
fn init_writes_a_private_profile_and_refuses_to_overwrite_it() {
    let vault = Vault::start();
    let token = vault.new_token();
    let ran = run(
        vault
            .sy()
            .args(["init", "--server", &vault.url(), "--token", "-"]),
        Some(&format!("{token}\n")),
    )
    .success();
    let profile = vault.path("config/syvault/default.json");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&profile).expect("profile written")).unwrap();
    let client_id = stored["client_id"].as_str().unwrap();
    let secret = stored["client_secret"].as_str().unwrap();
    assert!(ran.stdout.contains(client_id), "{ran:?}");
    assert!(ran.stdout.contains("profile default"), "{ran:?}");
    assert!(
        ran.stdout.contains(&profile.display().to_string()),
        "{ran:?}"
    );
    assert!(ran.stdout.contains("2 folders granted"), "{ran:?}");
    assert_clean(&ran.stdout, &[secret, &token]);
    assert_clean(&ran.stderr, &[secret, &token]);
    #[cfg(unix)]
    assert_eq!(common::mode(&profile), 0o600);

    // The profile works without any other option.
    let read = run(
        vault
            .sy()
            .args(["read", "sy://Production/Database/field/password"]),
        None,
    )
    .success();
    assert_eq!(read.stdout, format!("{DB_PASSWORD}\n"));

    // A second init does not replace it, and does not spend the new token.
    let second = vault.new_token();
    let before = std::fs::read(&profile).unwrap();
    let ran = run(
        vault
            .sy()
            .args(["init", "--server", &vault.url(), "--token", &second]),
        None,
    )
    .fails(1, &[secret, &second]);
    assert!(ran.stderr.contains("--force"), "{ran:?}");
    assert_eq!(std::fs::read(&profile).unwrap(), before);

    // With --force it does, from SY_TOKEN this time.
    run(
        vault
            .sy()
            .env("SY_TOKEN", &second)
            .args(["init", "--server", &vault.url(), "--force"]),
        None,
    )
    .success();
    assert_ne!(std::fs::read(&profile).unwrap(), before);
    #[cfg(unix)]
    assert_eq!(common::mode(&profile), 0o600);
}

#[test]
fn a_spent_or_malformed_token_is_one_line_and_writes_nothing() {
    let vault = Vault::start();
    let token = vault.new_token();
    let first = vault.path("first.json");
    run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                &token,
                "--credentials-file",
            ])
            .arg(&first),
        None,
    )
    .success();
    let again = vault.path("again.json");
    let ran = run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                &token,
                "--credentials-file",
            ])
            .arg(&again),
        None,
    )
    .fails(1, &[&token]);
    assert_eq!(ran.stderr.lines().count(), 1, "{ran:?}");
    assert!(ran.stderr.contains("already used or expired"), "{ran:?}");
    assert!(!again.exists());

    let ran = run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                "vft_nonsense",
                "--credentials-file",
            ])
            .arg(&again),
        None,
    )
    .fails(2, &[]);
    assert!(ran.stderr.contains("one-time token"), "{ran:?}");
    assert!(!again.exists());

    // An expired token reads the same.
    let expired = vault
        .admin
        .create_client_with_token_lifetime(vault.application, "late", Duration::ZERO)
        .unwrap();
    let ran = run(
        vault
            .sy()
            .args(["init", "--server", &vault.url(), "--credentials-file"])
            .arg(&again)
            .args(["--token", expired.token.expose()]),
        None,
    )
    .fails(1, &[expired.token.expose()]);
    assert!(ran.stderr.contains("already used or expired"), "{ran:?}");
    assert!(!again.exists());

    // No token at all is a usage error.
    run(vault.sy().args(["init", "--server", &vault.url()]), None).fails(2, &[]);
}

#[cfg(unix)]
#[test]
fn init_replaces_a_symlink_instead_of_writing_through_it() {
    let vault = Vault::start();
    let target = vault.path("elsewhere.txt");
    std::fs::write(&target, "untouched").unwrap();
    let link = vault.path("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let token = vault.new_token();
    // Without --force a symlink counts as existing credentials.
    run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                &token,
                "--credentials-file",
            ])
            .arg(&link),
        None,
    )
    .fails(1, &[&token]);
    run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                &token,
                "--force",
            ])
            .arg("--credentials-file")
            .arg(&link),
        None,
    )
    .success();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(common::mode(&link), 0o600);
}

#[test]
fn over_tls_with_the_ca_from_an_option_or_the_environment() {
    let vault = Vault::start_tls();
    assert!(vault.url().starts_with("https://"));
    let ca = vault.ca_file();
    let token = vault.new_token();
    let creds = vault.path("tls.json");
    // Without the CA the server is not trusted: an operation error, nothing written.
    run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                &token,
                "--credentials-file",
            ])
            .arg(&creds),
        None,
    )
    .fails(1, &[&token]);
    assert!(!creds.exists());
    run(
        vault
            .sy()
            .args([
                "init",
                "--server",
                &vault.url(),
                "--token",
                &token,
                "--credentials-file",
            ])
            .arg(&creds)
            .arg("--ca-file")
            .arg(&ca),
        None,
    )
    .success();
    let read = run(
        vault
            .sy()
            .env("SY_CREDENTIALS_FILE", &creds)
            .env("SY_CA_CERT", &ca)
            .args(["read", "-n", "sy://Production/Stripe API Key/field/api_key"]),
        None,
    )
    .success();
    assert_eq!(read.stdout, API_KEY);
}

// ---------------------------------------------------------------------------------------------
// read, list, get

#[test]
fn read_prints_the_value_and_nothing_else() {
    let vault = Vault::start();
    let client = vault.client();
    let ran = client.ok(&["read", "sy://Production/Database/field/username"]);
    assert_eq!(ran.stdout, format!("{DB_USER}\n"));
    assert!(ran.stderr.is_empty());
    let ran = client.ok(&["read", "-n", "sy://Production/Database/field/password"]);
    assert_eq!(ran.stdout, DB_PASSWORD);
    let ran = client.ok(&["read", &format!("sy://{}/title", vault.stripe)]);
    assert_eq!(ran.stdout, "Stripe API Key\n");
}

#[test]
fn list_as_table_and_json_and_by_folder() {
    let vault = Vault::start();
    let client = vault.client();
    let table = client.ok(&["secret", "list"]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("UID") && lines[0].contains("REVISION"));
    assert!(table.contains(vault.database.as_str()) && table.contains("Old Key"));
    assert_clean(&table, &[]);

    let json: serde_json::Value =
        serde_json::from_str(&client.ok(&["secret", "list", "--format", "json"]).stdout).unwrap();
    let database = json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uid"] == vault.database.as_str())
        .expect("Database listed");
    assert_eq!(database["folder"], "Production");
    assert_eq!(database["title"], "Database");
    assert_eq!(database["revision"], 1);
    assert_eq!(database["folder_id"], vault.production.to_string());
    assert!(database["type"].is_string());

    let archive: serde_json::Value = serde_json::from_str(
        &client
            .ok(&["secret", "list", "--folder", "Archive", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(archive.as_array().unwrap().len(), 1);
    assert_eq!(archive[0]["title"], "Old Key");
    let by_id = client.ok(&["secret", "list", "--folder", &vault.production.to_string()]);
    assert_eq!(by_id.stdout.lines().count(), 3);

    let folders: serde_json::Value =
        serde_json::from_str(&client.ok(&["folder", "list", "--format", "json"]).stdout).unwrap();
    assert_eq!(folders[0]["path"], "Archive");
    assert_eq!(folders[0]["access"], "read");
    assert_eq!(folders[1]["path"], "Production");
    assert_eq!(folders[1]["access"], "read_write");
}

#[test]
fn get_masks_unless_revealed_and_prints_values_in_json_env_and_field() {
    let vault = Vault::start();
    let client = vault.client();
    let uid = vault.database.as_str();
    let masked = client.ok(&["secret", "get", uid]).stdout;
    assert!(masked.contains("field/password") && masked.contains("********"));
    assert_clean(&masked, &[DB_USER]);
    let revealed = client.ok(&["secret", "get", uid, "--reveal"]).stdout;
    assert!(revealed.contains(DB_PASSWORD) && revealed.contains(DB_USER));

    let json: serde_json::Value = serde_json::from_str(
        &client
            .ok(&["secret", "get", uid, "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(json["uid"], uid);
    assert_eq!(json["title"], "Database");
    assert_eq!(json["revision"], 1);
    assert_eq!(json["fields"]["password"], DB_PASSWORD);
    assert_eq!(json["fields"]["username"], DB_USER);
    assert_eq!(json["notes"], "");

    let env = client.ok(&["secret", "get", uid, "--format", "env"]).stdout;
    assert!(
        env.contains(&format!("PASSWORD='{DB_PASSWORD}'\n")),
        "{env}"
    );
    assert!(env.contains(&format!("USERNAME='{DB_USER}'\n")), "{env}");

    let field = client
        .ok(&["secret", "get", uid, "--field", "password"])
        .stdout;
    assert_eq!(field, format!("{DB_PASSWORD}\n"));
}

// ---------------------------------------------------------------------------------------------
// create, rotate

#[test]
fn create_reads_values_from_stdin_and_files() {
    let vault = Vault::start();
    let client = vault.client();
    let file = vault.path("redis-password.txt");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let ran = run(
        client.sy().args([
            "secret",
            "create",
            "--folder",
            "Production",
            "--title",
            "Redis",
            "--type",
            "databaseCredentials",
            "--field",
            "host=redis.internal",
            "--field",
            &format!("password=@{}", file.display()),
            "--field",
            "token=-",
            "--notes",
            "rotated monthly",
        ]),
        Some("from-stdin\n"),
    )
    .success();
    let uid: syvault_ureq::RecordUid = ran.stdout.trim().parse().expect("a UID");
    let stored = vault.admin.read_secret(uid).unwrap();
    assert_eq!(stored.title, "Redis");
    assert_eq!(stored.record_type, "databaseCredentials");
    assert_eq!(
        stored.fields.get("host").unwrap().expose(),
        "redis.internal"
    );
    assert_eq!(
        stored.fields.get("password").unwrap().expose(),
        "from-a-file"
    );
    assert_eq!(stored.fields.get("token").unwrap().expose(), "from-stdin");
    assert_eq!(stored.notes.expose(), "rotated monthly");
    let read = client.ok(&["read", "-n", "sy://Production/Redis/field/token"]);
    assert_eq!(read.stdout, "from-stdin");
}

#[test]
fn create_refuses_bad_values_before_sending_anything() {
    let vault = Vault::start();
    let client = vault.client();
    let stats = vault.stats();
    stats.reset();
    let missing = vault.path("no-such-file.txt");
    let ran = client
        .run(&[
            "secret",
            "create",
            "--folder",
            "Production",
            "--title",
            "X",
            "--field",
            &format!("password=@{}", missing.display()),
        ])
        .fails(2, &[]);
    assert!(ran.stderr.contains("no-such-file.txt"), "{ran:?}");
    client
        .run(&[
            "secret",
            "create",
            "--folder",
            "Production",
            "--title",
            "X",
            "--field",
            "novalue",
        ])
        .fails(2, &[]);
    // A directory cannot be read as a value either.
    let dir = format!("@{}", vault.dir.path().display());
    client
        .run(&[
            "secret",
            "create",
            "--folder",
            "Production",
            "--title",
            "X",
            "--notes",
            &dir,
        ])
        .fails(2, &[]);
    assert_eq!(stats.total(), 0, "nothing was sent");

    let ran = client
        .run(&["secret", "create", "--folder", "Nowhere", "--title", "X"])
        .fails(1, &[]);
    assert!(ran.stderr.contains("folder `Nowhere` not found"), "{ran:?}");
    let ran = client
        .run(&["secret", "create", "--folder", "Archive", "--title", "X"])
        .fails(1, &[]);
    assert!(ran.stderr.contains("403"), "{ran:?}");
}

#[test]
fn rotate_waits_and_prints_the_outcome() {
    let vault = Vault::start();
    let client = vault.client();
    let uid = vault.database.as_str();
    let ran = client.ok(&["secret", "rotate", uid]);
    assert!(ran.stdout.contains("completed"), "{ran:?}");
    assert!(ran.stdout.contains("revision 2"), "{ran:?}");
    // No spinner without a terminal: only the line naming the rotation, at once.
    let id = ran.stdout.split_whitespace().nth(1).unwrap();
    assert_eq!(
        ran.stderr,
        format!("sy: rotation {id} started\n"),
        "{ran:?}"
    );
    let new_password = vault.admin.read_secret(vault.database).unwrap();
    let new_password = new_password
        .fields
        .get("password")
        .unwrap()
        .expose()
        .to_owned();
    assert_ne!(new_password, DB_PASSWORD);
    assert!(
        !ran.stdout.contains(&new_password),
        "masked without --reveal"
    );

    let ran = client.ok(&["secret", "rotate", uid, "--reveal"]);
    assert!(ran.stdout.contains("revision 3"), "{ran:?}");
    let newest = vault.admin.read_secret(vault.database).unwrap();
    assert!(
        ran.stdout
            .contains(newest.fields.get("password").unwrap().expose())
    );
}

#[test]
fn rotate_without_waiting_then_resume() {
    let vault = Vault::start_with(false, Duration::from_millis(300));
    let client = vault.client();
    let uid = vault.database.as_str();
    let ran = client.ok(&["secret", "rotate", uid, "--no-wait"]);
    assert!(ran.stdout.contains("started"), "{ran:?}");
    let rotation_id: Uuid = ran
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let ran = client.ok(&[
        "secret",
        "rotate",
        uid,
        "--resume",
        &rotation_id.to_string(),
    ]);
    assert!(ran.stdout.contains(&rotation_id.to_string()), "{ran:?}");
    assert!(ran.stdout.contains("completed"), "{ran:?}");
}

#[test]
fn a_failed_or_timed_out_rotation_names_its_id() {
    let vault = Vault::start_with(false, Duration::from_millis(300));
    let client = vault.client();
    let uid = vault.database.as_str();
    let ran = client
        .run(&["secret", "rotate", uid, "--timeout", "100ms"])
        .fails(1, &[]);
    assert!(
        ran.stderr.contains("did not finish within 100ms"),
        "{ran:?}"
    );
    assert!(ran.stderr.contains("goes on on the server"), "{ran:?}");
    assert!(ran.stderr.contains("--resume"), "{ran:?}");
    let id = ran
        .stderr
        .split_whitespace()
        .find_map(|word| word.parse::<Uuid>().ok())
        .expect("the rotation id");
    let ran = client.ok(&["secret", "rotate", uid, "--resume", &id.to_string()]);
    assert!(ran.stdout.contains("completed"), "{ran:?}");

    vault.admin.fail_next_rotation();
    let ran = client.run(&["secret", "rotate", uid]).fails(1, &[]);
    assert!(ran.stderr.contains("failed"), "{ran:?}");
    assert!(
        ran.stderr
            .split_whitespace()
            .any(|word| word.parse::<Uuid>().is_ok()),
        "{ran:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// run, inject

#[cfg(unix)]
#[test]
fn run_gives_the_child_the_values_and_its_exit_status_is_the_commands() {
    let vault = Vault::start();
    let client = vault.client();
    let env_file = vault.path(".env.sy");
    std::fs::write(
        &env_file,
        "# resolved too\nexport API_KEY=\"sy://Production/Stripe API Key/field/api_key\"\nPLAIN=x\n",
    )
    .unwrap();
    let ran = run(
        client
            .sy()
            .env("DB_PASSWORD", "sy://Production/Database/field/password")
            .arg("run")
            .arg("--env-file")
            .arg(&env_file)
            .args([
                "--",
                "sh",
                "-c",
                r#"printf '%s|%s|%s' "$DB_PASSWORD" "$API_KEY" "$PLAIN"; exit 7"#,
            ]),
        None,
    );
    assert_eq!(ran.code, Some(7), "{ran:?}");
    assert_eq!(ran.stdout, format!("{DB_PASSWORD}|{API_KEY}|x"));
    assert!(ran.stderr.is_empty(), "{ran:?}");
}

#[cfg(unix)]
#[test]
fn one_failing_reference_means_the_command_never_starts() {
    let vault = Vault::start();
    let client = vault.client();
    let marker = vault.path("started");
    let ran = run(
        client
            .sy()
            .env("DB_PASSWORD", "sy://Production/Database/field/password")
            .env("MISSING_RECORD", "sy://Production/Nope/field/password")
            .env("MISSING_FIELD", "sy://Production/Database/field/pin")
            .env("MALFORMED", "sy://Production//x")
            .args(["run", "--", "touch"])
            .arg(&marker),
        None,
    )
    .fails(1, &[]);
    assert!(!marker.exists(), "the command must not start");
    for name in ["MISSING_RECORD", "MISSING_FIELD", "MALFORMED"] {
        assert!(ran.stderr.contains(&format!("sy: {name}: ")), "{ran:?}");
    }
    assert!(!ran.stderr.contains("DB_PASSWORD"), "{ran:?}");
    assert!(ran.stderr.contains("not started"), "{ran:?}");
}

#[cfg(unix)]
#[test]
fn run_without_references_needs_no_credentials() {
    let vault = Vault::start();
    let ran = run(
        vault.sy().env("GREETING", "hello").args([
            "run",
            "--",
            "sh",
            "-c",
            r#"printf '%s' "$GREETING""#,
        ]),
        None,
    )
    .success();
    assert_eq!(ran.stdout, "hello");
    assert_eq!(vault.stats().total(), 0);
}

#[cfg(unix)]
#[test]
fn run_with_fifty_references_costs_one_listing() {
    let vault = Vault::start();
    let client = vault.client();
    let stats = vault.stats();
    stats.reset();
    let mut command = client.sy();
    for i in 0..50 {
        let reference = match i % 3 {
            0 => "sy://Production/Database/field/password",
            1 => "sy://Production/Database/field/username",
            _ => "sy://Production/Stripe API Key/field/api_key",
        };
        command.env(format!("REF_{i}"), reference);
    }
    let ran = run(
        command.args([
            "run",
            "--",
            "sh",
            "-c",
            r#"printf '%s %s %s' "$REF_0" "$REF_1" "$REF_49""#,
        ]),
        None,
    )
    .success();
    assert_eq!(ran.stdout, format!("{DB_PASSWORD} {DB_USER} {DB_USER}"));
    assert_eq!(stats.count("GET", "/api/sm/v1/secrets"), 1, "one listing");
    assert_eq!(stats.count("GET", "/api/sm/v1/folders"), 1, "the folders");
    assert_eq!(stats.total(), 2, "{:?}", stats.snapshot());
}

#[test]
fn inject_renders_a_private_file() {
    let vault = Vault::start();
    let client = vault.client();
    let template = vault.path("app.conf.tpl");
    std::fs::write(
        &template,
        "user = {{ sy://Production/Database/field/username }}\n\
         password = {{sy://Production/Database/field/password}}\n\
         other = {{ .Values.untouched }}\n",
    )
    .unwrap();
    let out = vault.path("app.conf");
    let ran = run(
        client
            .sy()
            .arg("inject")
            .arg("-i")
            .arg(&template)
            .arg("-o")
            .arg(&out),
        None,
    )
    .success();
    assert!(ran.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!(
            "user = {DB_USER}\npassword = {DB_PASSWORD}\nother = {{{{ .Values.untouched }}}}\n"
        )
    );
    #[cfg(unix)]
    assert_eq!(common::mode(&out), 0o600);

    // Standard input to standard output.
    let ran = run(
        client.sy().arg("inject"),
        Some("key={{ sy://Production/Stripe API Key/field/api_key }}"),
    )
    .success();
    assert_eq!(ran.stdout, format!("key={API_KEY}"));
}

#[test]
fn inject_writes_nothing_if_any_placeholder_fails() {
    let vault = Vault::start();
    let client = vault.client();
    let out = vault.path("app.conf");
    let ran = run(
        client.sy().arg("inject").arg("-o").arg(&out),
        Some(
            "ok = {{ sy://Production/Database/field/password }}\n\
             a = {{ sy://Production/Nope/field/x }}\n\
             b = {{ sy://Production/Database/field/pin }}\n",
        ),
    )
    .fails(1, &[]);
    assert!(!out.exists());
    assert!(ran.stderr.contains("sy: line 2: "), "{ran:?}");
    assert!(ran.stderr.contains("sy: line 3: "), "{ran:?}");
    assert!(!ran.stderr.contains("line 1"), "{ran:?}");

    let ran = run(
        client.sy().arg("inject").arg("-o").arg(&out),
        Some("x = {{ sy://Production/Database/field/password\n"),
    )
    .fails(2, &[]);
    assert!(ran.stderr.contains("line 1"), "{ran:?}");
    assert!(!out.exists());

    // The line is counted over the whole template, past earlier placeholders, ours or not.
    let ran = run(
        client.sy().arg("inject").arg("-o").arg(&out),
        Some(
            "a = {{ sy://Production/Database/field/password }}\n\
             b = {{ .Values.b }}\n\
             c = {{ sy://Production/Database/field/username\n",
        ),
    )
    .fails(2, &[]);
    assert_eq!(
        ran.stderr,
        "sy: line 3: a placeholder `{{ sy://…` is not closed by `}}` on its line\n"
    );
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// bad input and credentials

#[test]
fn bad_references_uids_and_folders() {
    let vault = Vault::start();
    let client = vault.client();
    let ran = client.run(&["read", "Production/Database"]).fails(2, &[]);
    assert!(ran.stderr.contains("malformed reference"), "{ran:?}");
    client
        .run(&["read", "sy://Production/x\\q/title"])
        .fails(2, &[]);
    let ran = client
        .run(&["read", "sy://Production/Nope/field/password"])
        .fails(1, &[]);
    assert!(ran.stderr.contains("no record matches"), "{ran:?}");
    let ran = client.run(&["secret", "get", "ZZZZZZZZZZZZ"]).fails(1, &[]);
    assert_eq!(ran.stderr, "sy: secret ZZZZZZZZZZZZ not found\n");
    client.run(&["secret", "get", "not-a-uid"]).fails(2, &[]);
    let ran = client
        .run(&["secret", "list", "--folder", "Nowhere"])
        .fails(1, &[]);
    assert!(ran.stderr.contains("Nowhere"), "{ran:?}");
    let ran = client
        .run(&["secret", "get", vault.database.as_str(), "--field", "pin"])
        .fails(1, &[]);
    assert!(ran.stderr.contains("pin"), "{ran:?}");
    // Usage errors from the grammar.
    let ran = client.run(&["secret", "list", "--format", "yaml"]);
    assert_eq!(ran.code, Some(2));
    let ran = client.run(&["run"]);
    assert_eq!(ran.code, Some(2));
}

#[test]
fn wrong_missing_and_invalid_credentials_never_write_output() {
    let vault = Vault::start();
    let client = vault.client();
    let mut credentials = client.credentials_json();
    let secret = credentials["client_secret"].as_str().unwrap().to_owned();
    let template = "p = {{ sy://Production/Database/field/password }}\n";

    // Another client id with this key: the server refuses the signature.
    credentials["client_id"] = Uuid::from_u128(7).to_string().into();
    let wrong = vault.path("wrong.json");
    std::fs::write(&wrong, credentials.to_string()).unwrap();
    let not_credentials = vault.path("not-credentials.json");
    std::fs::write(&not_credentials, "{\"hello\": \"world\"}").unwrap();
    let missing = vault.path("missing.json");

    for (file, code, says) in [
        (&wrong, 1, "authentication failed"),
        (&missing, 2, "missing.json"),
        (&not_credentials, 2, "not-credentials.json"),
    ] {
        let out = vault.path("out.conf");
        let ran = run(
            vault
                .sy()
                .arg("--credentials-file")
                .arg(file)
                .arg("inject")
                .arg("-o")
                .arg(&out),
            Some(template),
        )
        .fails(code, &[&secret]);
        assert!(ran.stderr.contains(says), "{ran:?}");
        assert!(!out.exists(), "no output file for {}", file.display());

        let ran = run(
            vault
                .sy()
                .env("SY_CREDENTIALS_FILE", file)
                .args(["read", "sy://Production/Database/field/password"]),
            None,
        )
        .fails(code, &[&secret]);
        assert!(ran.stderr.contains(says), "{ran:?}");
    }
}

#[test]
fn credentials_come_from_the_file_then_the_environment_then_the_profile() {
    let vault = Vault::start();
    let client = vault.client();
    let credentials = client.credentials_json();
    let field = |name: &str| credentials[name].as_str().unwrap().to_owned();
    let reference = "sy://Production/Database/field/username";

    // No credentials at all: a usage error that says what to do.
    let ran = run(vault.sy().args(["read", reference]), None).fails(2, &[]);
    assert!(ran.stderr.contains("sy init"), "{ran:?}");

    // The environment alone.
    let with_env = |command: &mut std::process::Command| {
        command
            .env("SY_SERVER", field("server"))
            .env("SY_CLIENT_ID", field("client_id"))
            .env("SY_CLIENT_SECRET", field("client_secret"));
    };
    let mut command = vault.sy();
    with_env(&mut command);
    run(command.args(["read", reference]), None).success();
    // Without a home directory too: the profile directory is not needed.
    let mut command = vault.sy();
    with_env(&mut command);
    command.env_remove("HOME").env_remove("XDG_CONFIG_HOME");
    run(command.args(["read", reference]), None).success();
    // An empty variable counts as unset.
    let mut command = vault.sy();
    with_env(&mut command);
    command.env("SY_CREDENTIALS_FILE", "").env("SY_PROFILE", "");
    run(command.args(["read", reference]), None).success();

    // A credentials file wins over the environment: a missing one fails even with it set.
    let mut command = vault.sy();
    with_env(&mut command);
    command.args(["--credentials-file", "missing.json", "read", reference]);
    run(&mut command, None).fails(2, &[&field("client_secret")]);

    // --server overrides the stored server: a closed port is refused, and the server named.
    let ran = client
        .run(&["--server", "http://127.0.0.1:9", "read", reference])
        .fails(1, &[]);
    assert!(
        ran.stderr
            .starts_with("sy: cannot connect to http://127.0.0.1:9: connection refused"),
        "{ran:?}"
    );

    // A profile name cannot escape the profile directory.
    let ran = run(
        vault.sy().args(["--profile", "../x", "read", reference]),
        None,
    )
    .fails(2, &[]);
    assert!(ran.stderr.contains("profile"), "{ran:?}");
}

#[test]
fn verbose_logs_requests_but_never_values() {
    let vault = Vault::start();
    let client = vault.client();
    let ran = client.ok(&["-v", "read", "sy://Production/Database/field/password"]);
    assert_eq!(ran.stdout, format!("{DB_PASSWORD}\n"));
    assert!(ran.stderr.contains("/api/sm/v1/secrets"), "{ran:?}");
    assert!(ran.stderr.contains("status=200"), "{ran:?}");
    let secret = client.credentials_json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_clean(&ran.stderr, &[&secret, "Bearer", "eyJ"]);
}

#[test]
fn completion_scripts_for_every_shell() {
    let vault = Vault::start();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let ran = run(vault.sy().args(["completion", shell]), None).success();
        assert!(ran.stdout.contains("sy"), "{shell}");
        assert!(ran.stdout.contains("inject"), "{shell}");
    }
    let help = run(vault.sy().args(["secret", "rotate", "--help"]), None).success();
    assert!(help.stdout.contains("Example"), "{help:?}");
}

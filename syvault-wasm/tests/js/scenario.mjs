// The scenario every runtime runs against the one dev server: list, get (then from the cache),
// notation, folders, create, rotate, bootstrap with a one-time token of its own, a lease when the
// server has a dynamic target, and errors. No runtime-specific API: plain ECMAScript and fetch.
//
// `sdk` is what the runtime imported from "@syvault/sdk"; `env` is
// {runtime, credentials, credentialsText, token, databaseUid}. Resolves to the names of the
// checks that passed; throws (with the check's name) on the first that fails.

const PASSWORD_REF = "sy://Production/Database/field/password";

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, message) {
  check(actual === expected, `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function rejects(promise, code, message) {
  try {
    await promise;
  } catch (error) {
    equal(error?.name, "SyVaultError", `${message}: error name`);
    equal(error.code, code, `${message}: error code`);
    return error;
  }
  throw new Error(`${message}: resolved instead of rejecting with ${code}`);
}

export async function scenario(sdk, env) {
  const { SyVaultClient, isSyVaultError } = sdk;
  const passed = [];
  const step = async (name, body) => {
    try {
      await body();
    } catch (error) {
      error.message = `${env.runtime}: ${name}: ${error.message}`;
      throw error;
    }
    passed.push(name);
  };

  // The credentials file's text and its object both work.
  const client = new SyVaultClient(env.credentialsText);
  const fromObject = new SyVaultClient(env.credentials);
  equal(fromObject.clientId, env.credentials.client_id, "client id");

  let database;
  await step("list", async () => {
    const secrets = await client.list();
    const titles = secrets.map((s) => s.title);
    check(titles.includes("Database") && titles.includes("Stripe API Key"), `titles ${titles}`);
    database = secrets.find((s) => s.uid === env.databaseUid);
    check(database, "the Database secret is listed");
    check(database.folderPath[0] === "Production", "folder path");
  });

  let secret;
  await step("get", async () => {
    secret = await fromObject.get(env.databaseUid);
    equal(secret.title, "Database", "title");
    check(typeof secret.fields.password === "string" && secret.fields.password.length > 0, "password field");
    check(Object.isFrozen(secret) && Object.isFrozen(secret.fields), "a secret is frozen");
    check((await fromObject.get(env.databaseUid)) === secret, "a cached get gives the same object");
    // The module hands the read after to the package's JavaScript (hits.js), which answers it.
    check((await fromObject.get(env.databaseUid)) === secret, "a read answered in JavaScript too");
  });

  await step("notation", async () => {
    equal(await fromObject.notation(PASSWORD_REF), secret.fields.password, "password by reference");
    equal(await fromObject.notation(`sy://${env.databaseUid}/title`), "Database", "title by UID");
  });

  await step("create", async () => {
    const production = (await client.folders()).find((f) => f.name === "Production");
    equal(production.access, "read_write", "access");
    const created = await client.create({
      folderId: production.folderId,
      title: `Created in ${env.runtime}`,
      fields: { password: `from-${env.runtime}` },
      notes: "made by the runtime tests",
    });
    client.clearCache();
    const read = await client.get(created.uid);
    equal(read.fields.password, `from-${env.runtime}`, "read back");
    equal(read.notes, "made by the runtime tests", "notes");
  });

  await step("rotate", async () => {
    const outcome = await client.rotate(env.databaseUid);
    check(/^[0-9a-f-]{36}$/.test(outcome.rotationId), "rotation id");
    check(outcome.revision > secret.revision, "a new revision");
    check(outcome.secret.fields.password !== secret.fields.password, "a new password");
    equal(await client.notation(PASSWORD_REF), outcome.secret.fields.password, "reference sees it");
  });

  await step("bootstrap", async () => {
    const credentials = await SyVaultClient.bootstrap(env.credentials.server, env.token);
    check(credentials.client_id !== env.credentials.client_id, "a new client id");
    equal(credentials.server, env.credentials.server, "server");
    // What bootstrap returns is the credentials file: it round-trips through its JSON text.
    const second = new SyVaultClient(JSON.stringify(credentials));
    const titles = (await second.list()).map((s) => s.title);
    check(titles.includes("Database"), "the new client reads Production");
    await rejects(SyVaultClient.bootstrap(env.credentials.server, env.token), "unauthorized",
      "a spent token");
  });

  await step("errors", async () => {
    const missing = await rejects(client.get("AAAAAAAAAAAA"), "secret_not_found", "missing secret");
    equal(missing.status, 404, "status");
    equal(missing.uid, "AAAAAAAAAAAA", "uid");
    equal(missing.retryable, false, "retryable");
    check(missing instanceof Error && isSyVaultError(missing), "an Error the guard knows");
    check(!isSyVaultError(new Error("other")), "the guard refuses other errors");
    await rejects(client.get("not-a-uid"), "invalid_input", "malformed uid");
    await rejects(client.notation("sy://Production/Nothing/field/x"), "notation", "unknown record");
    let thrown;
    try {
      new SyVaultClient({ ...env.credentials, server: "http://vault.localhost:8200" });
    } catch (error) {
      thrown = error;
    }
    equal(thrown?.code, "invalid_input", "plain http to a .localhost name");
  });

  const target = (await client.list()).find((s) => s.title === "Database (dynamic)");
  if (target) {
    await step("lease", async () => {
      const dynamic = client.dynamic();
      const lease = await dynamic.lease(target.uid, 120);
      check(lease.username.startsWith("vf_tmp_") && lease.password.length > 0, "a role");
      check(lease.expiresAt instanceof Date && lease.expiresAt > new Date(), "expires later");
      const renewed = await dynamic.renew(lease.leaseId, 300);
      check(renewed.expiresAt > lease.expiresAt, "renewed for longer");
      check((await dynamic.leases()).some((l) => l.leaseId === lease.leaseId), "listed");
      const changes = [];
      const keeper = dynamic.keep(renewed, 300, { onChange: (state) => changes.push(state.status) });
      equal(keeper.state.status, "active", "kept");
      equal(await keeper.close(), "revoked", "closed");
      equal(keeper.state.status, "revoked", "state after close");
      check(!(await dynamic.leases()).some((l) => l.leaseId === lease.leaseId), "no longer listed");
      await rejects(dynamic.renew(lease.leaseId, 120), "lease_not_found", "renewing a revoked lease");
      await rejects(dynamic.lease(target.uid, 30), "invalid_input", "a TTL under 60 s");
      await Promise.resolve();
      check(changes.includes("revoked"), `onChange saw the end: ${changes}`);
    });
  }
  return passed;
}

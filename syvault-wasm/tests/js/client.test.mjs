// The package in Node 20, as installed from its tarball into this project and driven by Node's
// fetch, against `syvault-dev serve --demo` over loopback: the driver's own rules, through a
// fetch of the test's where needed. Run (after `npm install --no-save <the .tgz>` here):
//   SYVAULT_DEV_BIN=<syvault-dev> node --test syvault-wasm/tests/js/*.test.*
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

import { SyVaultClient } from "@syvault/sdk";

import { freePort, startDemo } from "./dev_server.mjs";

const PASSWORD_REF = "sy://Production/Database/field/password";

let demo;
let credentials;

before(async () => {
  demo = await startDemo({ tokens: 1 });
  credentials = demo.credentials;
});

after(() => demo?.stop());

/** A client whose fetch records the method and path of every request. */
function counted() {
  const requests = [];
  const fetch = (url, init) => {
    requests.push(`${init.method} ${new URL(url).pathname}`);
    return globalThis.fetch(url, init);
  };
  return { client: new SyVaultClient(credentials, { fetch }), requests };
}

async function database(client) {
  const secrets = await client.list();
  const summary = secrets.find((s) => s.title === "Database");
  assert.ok(summary, `Database missing from ${JSON.stringify(secrets.map((s) => s.title))}`);
  return summary;
}

test("list shows the demo secrets with their folder path", async () => {
  const secrets = await new SyVaultClient(credentials).list();
  const titles = secrets.map((s) => s.title).sort();
  assert.deepEqual(titles, ["Database", "Stripe API Key"]);
  for (const secret of secrets) {
    assert.match(secret.uid, /^[0-9A-Za-z]{12}$/);
    assert.deepEqual(secret.folderPath, ["Production"]);
  }
});

test("a cached get gives the same frozen object until the secret changes", async () => {
  const client = new SyVaultClient(credentials);
  const { uid } = await database(client);
  const first = await client.get(uid);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.fields));
  assert.throws(() => {
    "use strict";
    first.fields.password = "changed";
  }, TypeError);
  assert.equal(await client.get(uid), first);
  client.clearCache();
  const again = await client.get(uid);
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
});

test("get returns the fields, then serves them from the cache", async () => {
  const { client, requests } = counted();
  const { uid } = await database(client);
  const secret = await client.get(uid);
  assert.equal(secret.uid, uid);
  assert.equal(secret.title, "Database");
  assert.ok(["host", "port", "database", "username", "password"].every((f) => f in secret.fields));
  assert.equal(typeof secret.fields.password, "string");
  const sent = requests.length;
  assert.deepEqual(await client.get(uid), secret);
  assert.equal(requests.length, sent, "a fresh cached secret needs no request");
});

test("notation resolves a field by folder and title", async () => {
  const client = new SyVaultClient(credentials);
  const { uid } = await database(client);
  const { fields } = await client.get(uid);
  assert.equal(await client.notation(PASSWORD_REF), fields.password);
  assert.equal(await client.notation(`sy://${uid}/title`), "Database");
  await assert.rejects(client.notation("sy://Production/Nothing/field/x"), { code: "notation" });
});

test("create stores a secret the client can read back", async () => {
  const client = new SyVaultClient(credentials);
  const production = (await client.folders()).find((f) => f.name === "Production");
  assert.equal(production.access, "read_write");
  const created = await client.create({
    folderId: production.folderId,
    title: "Cache",
    fields: { password: "s3cret-from-node", host: "redis.internal" },
  });
  assert.equal(created.title, "Cache");
  client.clearCache();
  const read = await client.get(created.uid);
  assert.equal(read.fields.password, "s3cret-from-node");
  assert.deepEqual(Object.keys(read.fields), ["password", "host"], "in the order given");
  assert.ok((await client.list()).some((s) => s.uid === created.uid));
  for (const bad of [
    { folderId: production.folderId, fields: {} },
    { folderId: "Production", title: "T" },
    { folderId: production.folderId, title: "T", fields: { port: 5432 } },
    { folderId: production.folderId, title: "T", notes: 7, fields: { password: "hunter2-js" } },
  ]) {
    await assert.rejects(client.create(bad), (error) => {
      assert.equal(error.name, "SyVaultError");
      assert.equal(error.code, "invalid_input");
      assert.ok(!error.message.includes("hunter2-js"), error.message);
      return true;
    });
  }
});

test("rotate replaces the password and returns the new revision", async () => {
  const client = new SyVaultClient(credentials);
  const { uid } = await database(client);
  const before = await client.get(uid);
  assert.equal(await client.get(uid), before, "read again from the cache");
  const outcome = await client.rotate(uid);
  assert.match(outcome.rotationId, /^[0-9a-f-]{36}$/);
  assert.ok(outcome.revision > before.revision);
  assert.notEqual(outcome.secret.fields.password, before.fields.password);
  assert.equal(await client.notation(PASSWORD_REF), outcome.secret.fields.password);
  // The cached secret was replaced: no read gives the old one.
  assert.equal((await client.get(uid)).fields.password, outcome.secret.fields.password);
});

test("reads served from the cache decide what it evicts, as the least recently read", async () => {
  // A third secret, so that a cache of two must evict.
  const writer = new SyVaultClient(credentials);
  const production = (await writer.folders()).find((f) => f.name === "Production");
  const third = await writer.create({ folderId: production.folderId, title: "Evicted", fields: { password: "x" } });
  const requests = [];
  const fetch = (url, init) => {
    requests.push(new URL(url).pathname);
    return globalThis.fetch(url, init);
  };
  const client = new SyVaultClient(credentials, { fetch, cacheMaxEntries: 2 });
  const listed = await client.list();
  const [a, b] = ["Database", "Stripe API Key"].map((t) => listed.find((s) => s.title === t).uid);
  const readA = await client.get(a);
  const readB = await client.get(b);
  assert.equal(await client.get(a), readA);
  assert.equal(await client.get(b), readB);
  // Read last (from the cache, as the reads before), A must outlive B when the third secret
  // comes in.
  assert.equal(await client.get(a), readA);
  assert.equal(await client.get(b), readB);
  assert.equal(await client.get(a), readA);
  await client.get(third.uid);
  const sent = requests.length;
  assert.equal(await client.get(a), readA, "A is still cached");
  assert.equal(requests.length, sent);
  assert.notEqual(await client.get(b), readB, "B was evicted and read again");
  assert.ok(requests.length > sent, "B was fetched");
});

test("a freed client answers no read, not even one it has cached", async () => {
  const client = new SyVaultClient(credentials);
  const { uid } = await database(client);
  await client.get(uid);
  await client.get(uid);
  client.free();
  assert.throws(() => client.get(uid));
});

test("a client dropped without free() is collected, after reads answered from its cache", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  const dropped = await (async () => {
    const client = new SyVaultClient(credentials);
    const { uid } = await database(client);
    for (let i = 0; i < 3; i++) await client.get(uid);
    return new WeakRef(client);
  })();
  for (let i = 0; i < 20 && dropped.deref() !== undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  assert.equal(dropped.deref(), undefined, "the client is still reachable");
});

test("a missing secret rejects with secret_not_found and its uid", async () => {
  const client = new SyVaultClient(credentials);
  const error = await client.get("AAAAAAAAAAAA").then(
    () => assert.fail("resolved"),
    (e) => e,
  );
  assert.ok(error instanceof Error);
  assert.equal(error.name, "SyVaultError");
  assert.equal(error.code, "secret_not_found");
  assert.equal(error.uid, "AAAAAAAAAAAA");
  assert.equal(error.status, 404);
  assert.equal(error.retryable, false);
  await assert.rejects(client.get("not-a-uid"), { code: "invalid_input" });
});

test("a read near the end of the TTL is served at once and refreshed in the background", async () => {
  // Every fetch's answer is counted before the SDK sees it: a read that waited on the network
  // resolves after an answer arrived, one served from the cache before any could.
  const revalidations = [];
  let answers = 0;
  const fetch = (url, init) => {
    // The listing holds the secret, so it is revalidated by asking what changed since.
    const { pathname, searchParams } = new URL(url);
    if (pathname.endsWith("/secrets") && searchParams.has("since")) {
      revalidations.push(`${init.method} ${pathname}?since=…`);
    }
    return globalThis.fetch(url, init).then((response) => {
      answers += 1;
      return response;
    });
  };
  const client = new SyVaultClient(credentials, { fetch, cacheTtlMs: 2_000 });
  const { uid } = await database(client);
  const first = await client.get(uid);
  let waited = 0;
  const end = Date.now() + 5_000;
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const seen = answers;
    assert.deepEqual(await client.get(uid), first);
    waited += answers === seen ? 0 : 1;
  }
  assert.equal(waited, 0, "no read waited for the network");
  // Two TTLs and more: each cycle revalidated once, by the background work.
  assert.ok(revalidations.length >= 2 && revalidations.length <= 6, JSON.stringify(revalidations));
});

test("concurrent reads of one secret share one request", async () => {
  const { client, requests } = counted();
  const { uid } = await database(client);
  client.clearCache();
  const before = requests.length;
  const reads = await Promise.all(Array.from({ length: 5 }, () => client.get(uid)));
  assert.ok(reads.every((r) => r.fields.password === reads[0].fields.password));
  const fetches = requests.slice(before).filter((r) => r === `GET /api/sm/v1/secrets/${uid}`);
  assert.equal(fetches.length, 1, JSON.stringify(requests.slice(before)));
});

test("an unreachable server rejects with a retryable connect error", async () => {
  // A port that was free a moment ago: nothing listens on it.
  const port = await freePort();
  const client = new SyVaultClient({ ...credentials, server: `http://127.0.0.1:${port}` });
  await assert.rejects(client.list(), { code: "transport_connect", retryable: true });
});

test("bad credentials and options are refused at construction, never quoting a secret", () => {
  const refused = (make, code) => assert.throws(make, { name: "SyVaultError", code });
  const captured = (make) => {
    try {
      make();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  refused(() => new SyVaultClient({ ...credentials, client_id: "nope" }), "invalid_input");
  refused(() => new SyVaultClient({ ...credentials, client_secret: "MIGH-not-a-key" }), "invalid_key");
  // The option names of earlier versions are not the credentials file's: refused, not guessed.
  const { server, client_id: clientId, client_secret: clientSecret } = credentials;
  refused(() => new SyVaultClient({ server, clientId, clientSecret }), "invalid_input");
  const text = captured(() => new SyVaultClient(JSON.stringify(credentials).slice(0, -1)));
  assert.equal(text.code, "invalid_input");
  assert.ok(!text.message.includes(credentials.client_secret.slice(0, 12)), text.message);
  refused(() => new SyVaultClient(42), "invalid_input");
  refused(() => new SyVaultClient(credentials, { fetch: 42 }), "invalid_input");
  refused(() => new SyVaultClient(credentials, { cacheTtlMs: -1 }), "invalid_input");
  refused(() => new SyVaultClient(credentials, { allowPlainHttp: "yes" }), "invalid_input");
  refused(() => new SyVaultClient(credentials, { maxResponseBody: 1.5 }), "invalid_input");
  refused(() => new SyVaultClient(credentials, { cacheMaxEntries: -1 }), "invalid_input");
  refused(() => new SyVaultClient(credentials, { cacheMaxEntries: "10" }), "invalid_input");
});

test("plain http goes only to localhost and loopback addresses unless allowed", () => {
  for (const server of ["http://vault.example.com", "http://vault.localhost:8200", "http://10.1.2.3"]) {
    assert.throws(() => new SyVaultClient({ ...credentials, server }), { code: "invalid_input" }, server);
    assert.ok(new SyVaultClient({ ...credentials, server }, { allowPlainHttp: true }), server);
  }
  for (const server of ["http://localhost:8200", "http://127.1.2.3:1", "http://[::1]:8200"]) {
    assert.equal(new SyVaultClient({ ...credentials, server }).server, server);
  }
});

test("bootstrap turns a one-time token into credentials of the file's shape", async () => {
  const seen = [];
  const fetch = (url, init) => {
    seen.push(`${init.method} ${new URL(url).pathname} ${"authorization" in init.headers}`);
    return globalThis.fetch(url, init);
  };
  const created = await SyVaultClient.bootstrap(credentials.server, demo.tokens[0], { fetch });
  assert.deepEqual(Object.keys(created).sort(), ["client_id", "client_secret", "server"]);
  assert.equal(created.server, credentials.server);
  assert.deepEqual(seen, ["POST /api/sm/v1/bootstrap false", "PUT /api/sm/v1/folder-keys true"]);
  const client = new SyVaultClient(created);
  assert.equal(client.clientId, created.client_id);
  assert.ok((await client.list()).some((s) => s.title === "Database"));
  await assert.rejects(SyVaultClient.bootstrap(credentials.server, "vft_nope"), {
    code: "invalid_one_time_token",
  });
  await assert.rejects(SyVaultClient.bootstrap("http://vault.localhost:1", demo.tokens[0]), {
    code: "invalid_input",
  });
});

test("credentials and secrets never show in an error", async () => {
  const client = new SyVaultClient(credentials);
  const error = await client.get("AAAAAAAAAAAA").catch((e) => e);
  const shown = JSON.stringify({ ...error, message: error.message, stack: error.stack });
  assert.ok(!shown.includes(credentials.client_secret.slice(0, 16)), shown);
});

test("a body over maxResponseBody is refused, not parsed", async () => {
  const fetch = async () => new Response(new Uint8Array(4096).fill(0x20), { status: 200 });
  const client = new SyVaultClient(credentials, { fetch, maxResponseBody: 1024 });
  await assert.rejects(client.list(), { code: "body_too_large" });
});

test("a redirect is handed to the core, never followed", async () => {
  const seen = [];
  const fetch = async (url, init) => {
    seen.push({ url, redirect: init.redirect, cache: init.cache, credentials: init.credentials });
    return new Response(null, { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } });
  };
  const client = new SyVaultClient(credentials, { fetch });
  await assert.rejects(client.list(), { status: 302 });
  assert.ok(seen.length >= 1);
  for (const request of seen) {
    assert.ok(request.url.startsWith(credentials.server), request.url);
    assert.equal(request.redirect, "manual");
    assert.equal(request.cache, "no-store");
    assert.equal(request.credentials, "omit");
  }
});

test("a request that outlives requestTimeoutMs is aborted as a timeout", async () => {
  let attempts = 0;
  const fetch = (url, init) => {
    attempts += 1;
    return new Promise((_, reject) => {
      init.signal.addEventListener("abort", () => reject(init.signal.reason));
    });
  };
  const client = new SyVaultClient(credentials, { fetch, requestTimeoutMs: 50 });
  await assert.rejects(client.list(), { code: "transport_timeout", retryable: true });
  assert.equal(attempts, 4, "the core retried a timeout up to its four attempts");
});

test("a fetch of the caller's may answer with a plain object", async () => {
  const fetch = async (url, init) => {
    const answer = await globalThis.fetch(url, init);
    const bytes = await answer.arrayBuffer();
    return { status: answer.status, headers: answer.headers, arrayBuffer: async () => bytes };
  };
  const secrets = await new SyVaultClient(credentials, { fetch }).list();
  assert.ok(secrets.length >= 2, JSON.stringify(secrets));
});

// The package through Node's `require` (its CommonJS glue), against the same module file.
const { test } = require("node:test");
const assert = require("node:assert/strict");

test("require gives the same API as import", async () => {
  const cjs = require("@syvault/sdk");
  const esm = await import("@syvault/sdk");
  for (const name of ["SyVaultClient", "Dynamic", "LeaseKeeper", "isSyVaultError"]) {
    assert.equal(typeof cjs[name], "function", name);
    assert.equal(typeof esm[name], "function", name);
  }
  assert.throws(() => new cjs.SyVaultClient("{}"), (error) => cjs.isSyVaultError(error) && error.code === "invalid_input");
  const manifest = require("@syvault/sdk/package.json");
  assert.match(manifest.version, /^\d+\.\d+\.\d+/);
});

test("require installs the answering of fresh reads in JavaScript too", async () => {
  const { SyVaultClient } = require("@syvault/sdk");
  const { startDemo } = await import("./dev_server.mjs");
  const demo = await startDemo();
  try {
    const client = new SyVaultClient(demo.credentials);
    let answered = 0;
    const tell = client.__hitsAnswered;
    client.__hitsAnswered = function () {
      answered += 1;
      return tell.call(this);
    };
    const first = await client.get(demo.databaseUid);
    assert.equal(await client.get(demo.databaseUid), first, "the module's cache");
    assert.equal(answered, 0);
    assert.equal(await client.get(demo.databaseUid), first, "hits.cjs");
    assert.equal(answered, 1, "the third read was answered in JavaScript");
  } finally {
    demo.stop();
  }
});

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

// Every `js` block of syvault-wasm/README.md, run as a user would run it (an ES module, or
// CommonJS where it calls `require`) from this project, where the package is installed, against
// `syvault-dev serve --demo` (with a dynamic target when PostgreSQL can start).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { SyVaultClient } from "@syvault/sdk";

import { startDemo, startPostgres } from "./dev_server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, "..", "..", "README.md"), "utf8");
const blocks = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

let demo;
let postgres;
let env;

before(async () => {
  postgres = await startPostgres();
  if (!postgres.adminUrl) {
    if (process.env.CI === "true") throw new Error(`PostgreSQL is required under CI=true: ${postgres.reason}`);
    postgres = null;
  }
  demo = await startDemo({ tokens: 1, postgres });
  const target = (await new SyVaultClient(demo.credentials).list()).find((s) => s.title === "Database (dynamic)");
  env = {
    SY_CREDENTIALS_FILE: demo.credentialsPath,
    SY_SERVER: demo.credentials.server,
    SY_TOKEN: demo.tokens[0],
    ...(target ? { DB_TARGET_UID: target.uid } : {}),
  };
});

after(() => {
  demo?.stop();
  postgres?.stop();
});

test("the README has snippets to run", () => {
  assert.ok(blocks.length >= 5, `${blocks.length} js blocks`);
});

for (const [i, code] of blocks.entries()) {
  const first = code.split("\n").find((line) => line.includes("await") || line.includes("client")) ?? "";
  test(`README snippet ${i + 1}: ${first.trim().slice(0, 60)}`, async (t) => {
    if (code.includes("DB_TARGET_UID") && !env.DB_TARGET_UID) {
      t.skip("no PostgreSQL: the demo has no dynamic target");
      return;
    }
    // The file sits in this project so that "@syvault/sdk" resolves; it runs in a scratch
    // directory, where a snippet may write files.
    const file = join(here, `.readme-snippet-${i + 1}.${code.includes("require(") ? "cjs" : "mjs"}`);
    const cwd = mkdtempSync(join(tmpdir(), "syvault-readme-"));
    writeFileSync(file, code);
    try {
      await promisify(execFile)(process.execPath, [file], {
        cwd,
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
    } catch (error) {
      assert.fail(`snippet ${i + 1} failed:\n${code}\n${error.stdout}${error.stderr}`);
    } finally {
      rmSync(file, { force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  });
}

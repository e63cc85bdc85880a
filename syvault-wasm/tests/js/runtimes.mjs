// The package, as installed from its tarball into this project, in five runtimes against one
// `syvault-dev serve --demo`: Node, Deno, Bun, workerd and headless Chromium each run the
// scenario of scenario.mjs with a one-time token of their own. With PostgreSQL on the machine
// (mandatory under CI=true) the dev server gets a throwaway cluster and the scenario leases from
// its dynamic target.
//
//   SYVAULT_DEV_BIN=target/debug/syvault-dev node syvault-wasm/tests/js/runtimes.mjs [runtime...]
//
// CHROMIUM (default /usr/bin/chromium) names the browser. Prints one line per runtime and a
// closing "runtimes: N passed, N failed".
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

import { freePort, startDemo, startPostgres } from "./dev_server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const bin = (name) => join(here, "node_modules", ".bin", name);
const sdkDir = join(here, "node_modules", "@syvault", "sdk");
const RUNTIMES = ["node", "deno", "bun", "workerd", "chromium"];
const TIMEOUT_MS = 180_000;

/** Runs a program; resolves with its stdout, rejects with its output when it fails. */
function run(program, args, { env = {}, timeout = TIMEOUT_MS, cwd = here } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${program} ${args.join(" ")} exited with ${code ?? signal}\n${stdout}${stderr}`));
    });
  });
}

/** The last line of a runner's output: {passed} or {error}. */
function result(stdout) {
  const last = stdout.trim().split("\n").pop();
  const parsed = JSON.parse(last);
  if (parsed.error) throw new Error(parsed.error);
  return parsed.passed;
}

/** The file an export condition of the installed package points at. */
function entry(condition) {
  const manifest = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8"));
  const target = manifest.exports["."][condition];
  if (typeof target !== "string") throw new Error(`the package has no "${condition}" export`);
  return target.replace(/^\.\//, "");
}

const runners = {
  node: async (input) => result(await run(process.execPath, ["run-scenario.mjs"], { env: { SYVAULT_SCENARIO: input } })),

  // Read access to the package's folder only (for its .wasm), network to loopback only.
  deno: async (input, { port }) => result(await run(bin("deno"), [
    "run", "--no-prompt", "--no-config", "--node-modules-dir=manual", `--allow-read=${sdkDir}`,
    "--allow-env=SYVAULT_SCENARIO", `--allow-net=127.0.0.1:${port}`, "run-scenario.mjs",
  ], { env: { SYVAULT_SCENARIO: input } })),

  bun: async (input) => result(await run(bin("bun"), ["run-scenario.mjs"], { env: { SYVAULT_SCENARIO: input } })),

  // A Worker made of the package's workerd entry (as a bundler resolves it), its glue and the
  // compiled module, and the scenario; its outbound fetch may reach loopback.
  workerd: async (input) => {
    const dir = mkdtempSync(join(tmpdir(), "syvault-workerd-"));
    try {
      const main = entry("workerd");
      const modules = [
        ["worker.js", "esModule"],
        ["scenario.mjs", "esModule"],
        [`sdk/${main}`, "esModule"],
        ["sdk/syvault_wasm.js", "esModule"],
        ["sdk/hits.js", "esModule"],
        ["sdk/syvault_wasm_bg.wasm", "wasm"],
      ];
      mkdirSync(join(dir, "sdk"));
      for (const file of [main, "syvault_wasm.js", "hits.js", "syvault_wasm_bg.wasm"]) {
        copyFileSync(join(sdkDir, file), join(dir, "sdk", file));
      }
      copyFileSync(join(here, "scenario.mjs"), join(dir, "scenario.mjs"));
      writeFileSync(join(dir, "worker.js"), `
import * as sdk from "./sdk/${main}";
import { scenario } from "./scenario.mjs";
export default {
  async fetch(request, env) {
    try {
      return Response.json({ passed: await scenario(sdk, JSON.parse(env.SCENARIO)) });
    } catch (error) {
      return Response.json({ error: String(error?.stack ?? error) });
    }
  },
};
`);
      writeFileSync(join(dir, "input.json"), input);
      const port = await freePort();
      writeFileSync(join(dir, "config.capnp"), `
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
${modules.map(([name, kind]) => `    (name = "${name}", ${kind} = embed "${name}"),`).join("\n")}
  ],
  bindings = [(name = "SCENARIO", text = embed "input.json")],
  compatibilityDate = "2025-09-01",
);
`);
      const server = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
      let log = "";
      server.stdout.on("data", (d) => (log += d));
      server.stderr.on("data", (d) => (log += d));
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            const answer = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
            return result(await answer.text());
          } catch (error) {
            if (error.cause?.code !== "ECONNREFUSED" || Date.now() > deadline) {
              throw new Error(`${error.message}\n${log}`);
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        server.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  // The page and the package's browser entry from a loopback origin the dev server allows.
  chromium: async (input, { pageOrigin }) => {
    const { chromium } = await import("playwright-core");
    const profile = mkdtempSync(join(tmpdir(), "syvault-chromium-"));
    // A fresh, empty profile; no network but loopback is reachable here, so nothing of
    // Chromium's own that would call out runs.
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage();
      const console = [];
      page.on("console", (message) => console.push(message.text()));
      page.on("pageerror", (error) => console.push(String(error)));
      await page.goto(`${pageOrigin}/#${encodeURIComponent(input)}`);
      const handle = await page.waitForFunction(() => window.scenarioResult, null, { timeout: TIMEOUT_MS });
      const outcome = await handle.jsonValue();
      if (outcome.error) throw new Error(`${outcome.error}\n${console.join("\n")}`);
      return outcome.passed;
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  },
};

/** Serves the page, the scenario and the installed package to the browser. */
function servePage(port) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };
  const files = (path) => {
    if (path === "/") return join(here, "browser", "index.html");
    if (path === "/scenario.mjs") return join(here, "scenario.mjs");
    if (path.startsWith("/sdk/")) {
      const file = normalize(join(sdkDir, path.slice("/sdk/".length)));
      return file.startsWith(sdkDir) ? file : null;
    }
    return null;
  };
  const server = createServer((request, response) => {
    const file = files(new URL(request.url, "http://x").pathname);
    try {
      const body = readFileSync(file);
      response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

const chosen = process.argv.slice(2).length ? process.argv.slice(2) : RUNTIMES;
const pagePort = await freePort();
const pageOrigin = `http://127.0.0.1:${pagePort}`;
const page = await servePage(pagePort);
let postgres = await startPostgres();
if (!postgres.adminUrl) {
  if (process.env.CI === "true") throw new Error(`PostgreSQL is required under CI=true: ${postgres.reason}`);
  console.log(`no PostgreSQL (${postgres.reason.split("\n")[0]}): the lease checks are skipped`);
  postgres = null;
}
const demo = await startDemo({ tokens: chosen.length, corsOrigins: [pageOrigin], postgres });
const port = new URL(demo.credentials.server).port;
let passed = 0;
let failed = 0;
try {
  for (const [i, runtime] of chosen.entries()) {
    const input = JSON.stringify({
      runtime,
      credentials: demo.credentials,
      credentialsText: readFileSync(demo.credentialsPath, "utf8"),
      token: demo.tokens[i],
      databaseUid: demo.databaseUid,
    });
    const started = Date.now();
    try {
      const checks = await runners[runtime](input, { port, pageOrigin });
      if (postgres && !checks.includes("lease")) throw new Error("the lease checks did not run");
      console.log(`ok ${runtime} (${((Date.now() - started) / 1000).toFixed(1)} s): ${checks.join(", ")}`);
      passed += 1;
    } catch (error) {
      console.log(`FAILED ${runtime}: ${error.stack ?? error}`);
      failed += 1;
    }
  }
} finally {
  demo.stop();
  postgres?.stop();
  page.close();
}
console.log(`runtimes: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

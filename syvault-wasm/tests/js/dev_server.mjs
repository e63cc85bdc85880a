// Starts `syvault-dev serve --demo` on a free loopback port (SYVAULT_DEV_BIN names the binary)
// and hands back its demo credentials and one-time tokens; with `postgres`, first a throwaway
// PostgreSQL cluster on loopback, so that the demo has a dynamic target to lease from.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** A port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

/**
 * Runs the dev server; resolves once the demo client is bootstrapped, with its credentials, the
 * one-time tokens (`tokens` of them), the demo's secret UIDs and `stop()`.
 */
export async function startDemo({ tokens = 1, corsOrigins = [], postgres = null } = {}) {
  const bin = process.env.SYVAULT_DEV_BIN;
  if (!bin) throw new Error("set SYVAULT_DEV_BIN to the syvault-dev binary");
  const dir = mkdtempSync(join(tmpdir(), "syvault-js-"));
  const credentialsPath = join(dir, "credentials.json");
  const args = ["serve", "--demo", "--addr", "127.0.0.1:0", "--credentials", credentialsPath,
    "--rotation-delay-ms", "20", "--demo-tokens", String(tokens)];
  for (const origin of corsOrigins) args.push("--cors-origin", origin);
  const env = { ...process.env, SYVAULT_LOG: "warn" };
  if (postgres) env.SYVAULT_POSTGRES_ADMIN_URL = postgres.adminUrl;
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"], env });
  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const lines = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("syvault-dev did not start in 30 s")), 30_000);
    child.on("exit", (code) => reject(new Error(`syvault-dev exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (!line.startsWith("export SY_CREDENTIALS_FILE=")) return;
      clearTimeout(timer);
      const after = (prefix) => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length);
      resolve({
        credentials: JSON.parse(readFileSync(credentialsPath, "utf8")),
        credentialsPath,
        tokens: lines.filter((l) => l.startsWith("One-time token")).map((l) => l.split(": ").pop()),
        folderId: after("Folder Production: "),
        databaseUid: after("Secret Production/Database: "),
        stop,
      });
    });
  });
}

/** The directory of PostgreSQL's server programs, or null. */
function postgresBin() {
  const onPath = (process.env.PATH ?? "").split(":").find((d) => existsSync(join(d, "initdb")));
  if (onPath) return onPath;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort();
  return versions.length ? join(root, versions.at(-1), "bin") : null;
}

/**
 * A throwaway PostgreSQL cluster on a free loopback port (as the unprivileged `postgres` user
 * when running as root), or null with the reason when none can start. `stop()` removes it.
 */
export async function startPostgres() {
  const bin = postgresBin();
  if (!bin) return { reason: "no initdb found" };
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "syvault-js-pg-"));
  const password = "js-test-admin-pw";
  const port = await freePort();
  const run = (program, args) => {
    const command = root ? ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]] : [join(bin, program), args];
    execFileSync(command[0], command[1], { stdio: ["ignore", "pipe", "pipe"] });
  };
  try {
    if (root) {
      const ids = execFileSync("id", ["-u", "postgres"]).toString().trim();
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
      chownSync(dir, Number(ids), gid);
    }
    chmodSync(dir, 0o700);
    writeFileSync(join(dir, "pw"), password);
    if (root) execFileSync("chown", ["postgres:", join(dir, "pw")]);
    run("initdb", ["-D", join(dir, "data"), "-U", "postgres", `--pwfile=${join(dir, "pw")}`,
      "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
    run("pg_ctl", ["-D", join(dir, "data"), "-o",
      `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off`,
      "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `${error.message}\n${error.stderr ?? ""}` };
  }
  return {
    adminUrl: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

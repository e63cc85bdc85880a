// Starts `syvault-dev serve --demo` on a free loopback port and hands back its demo credentials.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** The wasm-bindgen output (`--target nodejs`) named by SYVAULT_WASM_PKG. */
export function loadPackage(require) {
  const dir = process.env.SYVAULT_WASM_PKG;
  if (!dir) throw new Error("set SYVAULT_WASM_PKG to the wasm-bindgen output directory");
  return require(join(dir, "syvault_wasm.js"));
}

/** Runs the binary named by SYVAULT_DEV_BIN; resolves once the demo client is bootstrapped. */
export function startDemo() {
  const bin = process.env.SYVAULT_DEV_BIN;
  if (!bin) throw new Error("set SYVAULT_DEV_BIN to the syvault-dev binary");
  const dir = mkdtempSync(join(tmpdir(), "syvault-node-"));
  const credentialsPath = join(dir, "credentials.json");
  const child = spawn(
    bin,
    ["serve", "--demo", "--addr", "127.0.0.1:0", "--credentials", credentialsPath,
      "--rotation-delay-ms", "20"],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, SYVAULT_LOG: "warn" } },
  );
  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("syvault-dev did not start in 30 s")), 30_000);
    child.on("exit", (code) => reject(new Error(`syvault-dev exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("Demo client")) {
        clearTimeout(timer);
        const credentials = JSON.parse(readFileSync(credentialsPath, "utf8"));
        resolve({ credentials, credentialsPath, stop });
      }
    });
  });
}

// Node (ES modules) and Bun: the module is read from the package's own folder and compiled
// synchronously, so the exports are ready when the import resolves.
import { readFileSync } from "node:fs";
import { initSync } from "./syvault_wasm.js";

initSync({ module: readFileSync(new URL("./syvault_wasm_bg.wasm", import.meta.url)) });

export { Dynamic, LeaseKeeper, SyVaultClient, isSyVaultError } from "./syvault_wasm.js";

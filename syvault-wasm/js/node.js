// Node (ES modules) and Bun: the module is read from the package's own folder and compiled
// synchronously, so the exports are ready when the import resolves.
import { readFileSync } from "node:fs";
import { SyVaultClient, initSync } from "./syvault_wasm.js";
import { answerHits } from "./hits.js";

initSync({ module: readFileSync(new URL("./syvault_wasm_bg.wasm", import.meta.url)) });

answerHits(SyVaultClient);

export { Dynamic, LeaseKeeper, SyVaultClient, isSyVaultError } from "./syvault_wasm.js";

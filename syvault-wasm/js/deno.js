// Deno: the module is read from the package's own folder (the npm cache or node_modules), which
// needs read permission for that folder only.
import { SyVaultClient, initSync } from "./syvault_wasm.js";
import { answerHits } from "./hits.js";

initSync({ module: Deno.readFileSync(new URL("./syvault_wasm_bg.wasm", import.meta.url)) });

answerHits(SyVaultClient);

export { Dynamic, LeaseKeeper, SyVaultClient, isSyVaultError } from "./syvault_wasm.js";

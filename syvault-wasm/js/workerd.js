// Cloudflare Workers (workerd): a Worker cannot compile WebAssembly from bytes at run time, so
// the module is imported, compiled when the Worker is deployed (wrangler and other bundlers
// declare `.wasm` imports as compiled modules).
import module from "./syvault_wasm_bg.wasm";
import { SyVaultClient, initSync } from "./syvault_wasm.js";
import { answerHits } from "./hits.js";

initSync({ module });

answerHits(SyVaultClient);

export { Dynamic, LeaseKeeper, SyVaultClient, isSyVaultError } from "./syvault_wasm.js";

// Cloudflare Workers (workerd): a Worker cannot compile WebAssembly from bytes at run time, so
// the module is imported, compiled when the Worker is deployed (wrangler and other bundlers
// declare `.wasm` imports as compiled modules).
import module from "./syvault_wasm_bg.wasm";
import { initSync } from "./syvault_wasm.js";

initSync({ module });

export { Dynamic, LeaseKeeper, SyVaultClient, isSyVaultError } from "./syvault_wasm.js";

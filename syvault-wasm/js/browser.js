// Browsers and bundlers: the module is fetched next to this file (bundlers such as Vite and
// webpack see `new URL(…, import.meta.url)` and ship the file), compiled while it streams in,
// and the import resolves once it is ready (top-level await).
import init, { SyVaultClient } from "./syvault_wasm.js";
import { answerHits } from "./hits.js";

await init({ module_or_path: new URL("./syvault_wasm_bg.wasm", import.meta.url) });

answerHits(SyVaultClient);

export { Dynamic, LeaseKeeper, SyVaultClient, isSyVaultError } from "./syvault_wasm.js";

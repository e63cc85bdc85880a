// Node's `require`: the CommonJS glue, with fresh reads answered in JavaScript (hits.js).
const glue = require("./syvault_wasm.cjs");
require("./hits.cjs").answerHits(glue.SyVaultClient);

module.exports = glue;

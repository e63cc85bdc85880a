// Runs the scenario in Node, Deno or Bun with the package as each resolves "@syvault/sdk", and
// prints the checks that passed as JSON. The environment variable SYVAULT_SCENARIO holds the
// scenario's input.
import * as sdk from "@syvault/sdk";
import { scenario } from "./scenario.mjs";

const input = globalThis.Deno ? Deno.env.get("SYVAULT_SCENARIO") : process.env.SYVAULT_SCENARIO;
const passed = await scenario(sdk, JSON.parse(input));
console.log(JSON.stringify({ passed }));

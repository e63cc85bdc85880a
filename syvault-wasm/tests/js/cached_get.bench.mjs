// A cached `get` in Node (the installed package) against the Rust async client
// (`syvault-hyper`), measured in the same run against one `syvault-dev serve --demo`: rounds
// alternate between the two, and each round reports the time per read; the summary gives min
// and median of each and of their ratio. Both cache for an hour, so no timed read revalidates.
//
//   SYVAULT_DEV_BIN=target/debug/syvault-dev SYVAULT_CACHED_GET_BIN=target/release/cached_get \
//   node syvault-wasm/tests/js/cached_get.bench.mjs
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

import { SyVaultClient, isSyVaultError } from "@syvault/sdk";

import { startDemo } from "./dev_server.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 21);
const READS = Number(process.env.READS ?? 20000);

const demo = await startDemo();
try {
  const client = new SyVaultClient(demo.credentials, { cacheTtlMs: 3_600_000 });
  const { uid } = (await client.list()).find((s) => s.title === "Database");
  await client.get(uid);

  const rust = spawn(process.env.SYVAULT_CACHED_GET_BIN, [demo.credentialsPath, uid], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const answers = createInterface({ input: rust.stdout })[Symbol.asyncIterator]();
  const rustRound = async () => {
    rust.stdin.write(`${READS}\n`);
    const { value } = await answers.next();
    return Number(value) / READS;
  };
  const timed = async (body) => {
    const started = process.hrtime.bigint();
    await body();
    return Number(process.hrtime.bigint() - started) / READS;
  };
  const nodeRound = () => timed(async () => {
    for (let i = 0; i < READS; i++) await client.get(uid);
  });
  // Where the time of a read goes: the parts it is made of, alone.
  const parts = {
    // `await` of a settled Promise: what the caller's `await` costs.
    await: () => timed(async () => {
      for (let i = 0; i < READS; i++) await Promise.resolve(i);
    }),
    // A call into the module and back with a JavaScript value and no work.
    crossing: () => timed(async () => {
      for (let i = 0; i < READS; i++) isSyVaultError(undefined);
    }),
    // The read without its `await`: the crossing with the UID, the core's step and the
    // settled Promise it returns.
    "get, no await": () => timed(async () => {
      for (let i = 0; i < READS; i++) client.get(uid);
    }),
  };

  await rustRound();
  await nodeRound(); // warm-up rounds, not counted
  const samples = { node: [], rust: [], ratio: [] };
  const partSamples = Object.fromEntries(Object.keys(parts).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    let node;
    let rustNs;
    if (round % 2 === 0) {
      node = await nodeRound();
      rustNs = await rustRound();
    } else {
      rustNs = await rustRound();
      node = await nodeRound();
    }
    for (const [name, part] of Object.entries(parts)) partSamples[name].push(await part());
    samples.node.push(node);
    samples.rust.push(rustNs);
    samples.ratio.push(node / rustNs);
  }
  rust.stdin.end();

  const min = (xs) => Math.min(...xs);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const us = (ns) => `${(ns / 1000).toFixed(2)} µs`;
  console.log(`cached get, ${ROUNDS} interleaved rounds of ${READS} reads`);
  console.log(`  node (wasm):          min ${us(min(samples.node))}  median ${us(median(samples.node))}`);
  console.log(`  rust (syvault-hyper): min ${us(min(samples.rust))}  median ${us(median(samples.rust))}`);
  console.log(`  ratio node/rust:      min ${min(samples.ratio).toFixed(2)}  median ${median(samples.ratio).toFixed(2)}`);
  for (const [name, xs] of Object.entries(partSamples)) {
    console.log(`  part: ${name.padEnd(16)} min ${us(min(xs))}  median ${us(median(xs))}`);
  }
} finally {
  demo.stop();
}

//! The Rust side of the wasm benchmark (`syvault-wasm/tests/js/cached_get.bench.mjs`): times cached
//! reads of one secret with the async client, on request. Each line on stdin is a count of
//! reads; the answer is a line with the nanoseconds they took, so the benchmark can interleave
//! these runs with the same reads in Node.
//!
//! Usage: `cached_get <credentials.json> <uid>`.

use std::io::BufRead;
use std::time::{Duration, Instant};

use syvault_hyper::AsyncSyVaultClient;
use syvault_proto::model::Credentials;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(credentials), Some(uid)) = (args.next(), args.next()) else {
        return Err("usage: cached_get <credentials.json> <uid>".into());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The same cache TTL as the Node side (one hour), so that no round of either revalidates.
    let client = AsyncSyVaultClient::builder()
        .credentials(Credentials::read_from(credentials)?)
        .cache_ttl(Duration::from_secs(3600))
        .build()?;
    // The first read fills the cache; every timed read is a hit.
    runtime.block_on(client.secrets().get(&uid))?;
    for line in std::io::stdin().lock().lines() {
        let reads: u32 = line?.trim().parse()?;
        let started = Instant::now();
        runtime.block_on(async {
            for _ in 0..reads {
                client.secrets().get(&uid).await?;
            }
            Ok::<_, syvault_hyper::Error>(())
        })?;
        println!("{}", started.elapsed().as_nanos());
    }
    Ok(())
}

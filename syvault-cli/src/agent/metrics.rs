//! The agent's counters, and `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use syvault_hyper::ClientStats;

/// What the agent counts itself; the client's own counters are read at each scrape.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Answers by endpoint and status.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Error answers by code.
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Connections refused by the peer check.
    refused: AtomicU64,
    /// Connections accepted and served.
    connections: AtomicU64,
}

/// What a scrape reports besides the agent's counters.
#[derive(Debug)]
pub(crate) struct Scrape {
    pub(crate) client: ClientStats,
    pub(crate) cached_secrets: usize,
    pub(crate) uptime: Duration,
    /// When the vault last answered a request successfully.
    pub(crate) last_sync: Option<SystemTime>,
    /// How old the snapshot is, if there is one.
    pub(crate) snapshot_age: Option<Duration>,
}

impl Metrics {
    pub(crate) fn answered(&self, endpoint: &'static str, status: u16) {
        *lock(&self.requests).entry((endpoint, status)).or_default() += 1;
    }

    pub(crate) fn failed(&self, code: &'static str) {
        *lock(&self.errors).entry(code).or_default() += 1;
    }

    pub(crate) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connected(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// The text format, version 0.0.4.
    pub(crate) fn render(&self, scrape: &Scrape) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "syvault_agent_requests_total",
            "counter",
            "Requests answered, by endpoint and HTTP status.",
        );
        for ((endpoint, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "syvault_agent_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}"
            );
        }
        family(
            &mut out,
            "syvault_agent_errors_total",
            "counter",
            "Error answers and failed references, by code.",
        );
        for (code, count) in lock(&self.errors).iter() {
            let _ = writeln!(out, "syvault_agent_errors_total{{code=\"{code}\"}} {count}");
        }
        let client = &scrape.client;
        let counters = [
            (
                "syvault_agent_connections_total",
                "Connections accepted from allowed users.",
                self.connections.load(Ordering::Relaxed),
            ),
            (
                "syvault_agent_connections_refused_total",
                "Connections refused because of the peer's user.",
                self.refused.load(Ordering::Relaxed),
            ),
            (
                "syvault_agent_cache_hits_total",
                "Reads answered from a fresh cache entry.",
                client.cache_hits,
            ),
            (
                "syvault_agent_cache_misses_total",
                "Reads of secrets the cache did not hold.",
                client.cache_misses,
            ),
            (
                "syvault_agent_stale_serves_total",
                "Expired entries served because the vault could not answer.",
                client.stale_serves,
            ),
            (
                "syvault_agent_revalidations_total",
                "Expired entries the vault confirmed unchanged.",
                client.revalidations,
            ),
            (
                "syvault_agent_vault_requests_total",
                "Requests sent to the vault, retries included.",
                client.requests,
            ),
            (
                "syvault_agent_vault_retries_total",
                "Requests to the vault repeated after a retryable failure.",
                client.retries,
            ),
        ];
        for (name, help, value) in counters {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        // Counts far below 2^52: exact as floats.
        #[allow(clippy::cast_precision_loss)]
        let mut gauges = vec![
            (
                "syvault_agent_cached_secrets",
                "Decrypted secrets in the cache.",
                Some(scrape.cached_secrets as f64),
            ),
            (
                "syvault_agent_uptime_seconds",
                "Seconds since the agent started.",
                Some(scrape.uptime.as_secs_f64()),
            ),
            (
                "syvault_agent_last_sync_timestamp_seconds",
                "When the vault last answered a request successfully (Unix time).",
                scrape.last_sync.and_then(unix_seconds),
            ),
            (
                "syvault_agent_snapshot_age_seconds",
                "Age of the snapshot the cache was last saved to or loaded from.",
                scrape.snapshot_age.map(|age| age.as_secs_f64()),
            ),
        ];
        // A gauge without a value is left out rather than reported as zero.
        gauges.retain(|(_, _, value)| value.is_some());
        for (name, help, value) in gauges {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {}", value.unwrap_or_default());
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn unix_seconds(time: SystemTime) -> Option<f64> {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_a_type_for_every_sample() {
        let metrics = Metrics::default();
        metrics.answered("read", 200);
        metrics.answered("read", 200);
        metrics.answered("read", 404);
        metrics.failed("not_found");
        metrics.refused();
        let text = metrics.render(&Scrape {
            client: ClientStats::default(),
            cached_secrets: 3,
            uptime: Duration::from_secs(5),
            last_sync: None,
            snapshot_age: Some(Duration::from_millis(1500)),
        });
        assert!(
            text.contains("syvault_agent_requests_total{endpoint=\"read\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("syvault_agent_requests_total{endpoint=\"read\",status=\"404\"} 1\n")
        );
        assert!(text.contains("syvault_agent_errors_total{code=\"not_found\"} 1\n"));
        assert!(text.contains("syvault_agent_connections_refused_total 1\n"));
        assert!(text.contains("syvault_agent_cached_secrets 3\n"));
        assert!(text.contains("syvault_agent_snapshot_age_seconds 1.5\n"));
        assert!(!text.contains("last_sync"));
        let mut typed = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(typed.contains(name), "{line}");
            }
        }
    }
}

//! Prometheus metrics, rendered as text at `GET /metrics`: requests, errors and latency
//! histograms per route, model and version; rows predicted; unknown categories; requests in
//! flight. Labels use route names (not raw paths) and only models that exist, so a client
//! cannot grow the series without bound.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Latency histogram bucket bounds, in seconds.
pub const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

#[derive(Default, Clone)]
struct Series {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
    rows: u64,
}

#[derive(Default)]
struct Inner {
    /// route → model → version (0: none) → series
    series: HashMap<&'static str, HashMap<String, HashMap<u32, Series>>>,
    /// (model, version, field) → unknown category values seen
    unknown: BTreeMap<(String, u32, String), u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    in_flight: AtomicI64,
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Record one finished request.
    pub fn record(
        &self,
        route: &'static str,
        model: Option<(&str, u32)>,
        status: u16,
        secs: f64,
        rows: usize,
    ) {
        let (name, version) = model.unwrap_or(("", 0));
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let by_model = g.series.entry(route).or_default();
        let by_version = match by_model.get_mut(name) {
            Some(v) => v,
            None => by_model.entry(name.to_string()).or_default(),
        };
        let s = by_version.entry(version).or_default();
        *s.by_status.entry(status).or_insert(0) += 1;
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            s.buckets[i] += 1;
        }
        s.count += 1;
        s.sum += secs;
        s.rows += rows as u64;
    }

    pub fn unknown_categories(&self, model: &str, version: u32, counts: &BTreeMap<String, u64>) {
        if counts.is_empty() {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (f, n) in counts {
            *g.unknown
                .entry((model.to_string(), version, f.clone()))
                .or_insert(0) += n;
        }
    }

    /// (requests, errors, rows) of a model over every route and version.
    pub fn totals_for(&self, model: &str) -> (u64, u64, u64) {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut t = (0, 0, 0);
        for by_model in g.series.values() {
            if let Some(vs) = by_model.get(model) {
                for s in vs.values() {
                    t.0 += s.count;
                    t.1 += s
                        .by_status
                        .iter()
                        .filter(|(c, _)| **c >= 400)
                        .map(|(_, n)| n)
                        .sum::<u64>();
                    t.2 += s.rows;
                }
            }
        }
        t
    }

    /// The Prometheus text exposition.
    pub fn render(&self, models_served: usize) -> String {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<(&&'static str, &String, &u32, &Series)> = Vec::new();
        for (route, by_model) in &g.series {
            for (m, vs) in by_model {
                for (v, s) in vs {
                    rows.push((route, m, v, s));
                }
            }
        }
        rows.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let mut o = String::with_capacity(4096);
        let labels = |route: &str, m: &str, v: u32| {
            let v = if v == 0 { String::new() } else { v.to_string() };
            format!(
                "route=\"{}\",model=\"{}\",version=\"{}\"",
                esc(route),
                esc(m),
                v
            )
        };
        o.push_str("# HELP neurite_requests_total HTTP requests by route, model, version and status.\n# TYPE neurite_requests_total counter\n");
        for (route, m, v, s) in &rows {
            for (code, n) in &s.by_status {
                let _ = writeln!(
                    o,
                    "neurite_requests_total{{{},status=\"{code}\"}} {n}",
                    labels(route, m, **v)
                );
            }
        }
        o.push_str("# HELP neurite_request_errors_total Requests answered with a 4xx or 5xx status.\n# TYPE neurite_request_errors_total counter\n");
        for (route, m, v, s) in &rows {
            for (code, n) in s.by_status.iter().filter(|(c, _)| **c >= 400) {
                let _ = writeln!(
                    o,
                    "neurite_request_errors_total{{{},status=\"{code}\"}} {n}",
                    labels(route, m, **v)
                );
            }
        }
        o.push_str("# HELP neurite_request_duration_seconds Request latency, from the full body read to the response built.\n# TYPE neurite_request_duration_seconds histogram\n");
        for (route, m, v, s) in &rows {
            let l = labels(route, m, **v);
            let mut acc = 0;
            for (b, n) in BUCKETS.iter().zip(s.buckets.iter()) {
                acc += n;
                let _ = writeln!(
                    o,
                    "neurite_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {acc}"
                );
            }
            let _ = writeln!(
                o,
                "neurite_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(o, "neurite_request_duration_seconds_sum{{{l}}} {}", s.sum);
            let _ = writeln!(
                o,
                "neurite_request_duration_seconds_count{{{l}}} {}",
                s.count
            );
        }
        o.push_str("# HELP neurite_rows_predicted_total Rows predicted by model and version.\n# TYPE neurite_rows_predicted_total counter\n");
        let mut per_model: BTreeMap<(&str, u32), u64> = BTreeMap::new();
        for (_, m, v, s) in &rows {
            if !m.is_empty() {
                *per_model.entry((m.as_str(), **v)).or_insert(0) += s.rows;
            }
        }
        for ((m, v), n) in per_model {
            let _ = writeln!(
                o,
                "neurite_rows_predicted_total{{model=\"{}\",version=\"{v}\"}} {n}",
                esc(m)
            );
        }
        o.push_str("# HELP neurite_unknown_categories_total Categorical values not seen in training.\n# TYPE neurite_unknown_categories_total counter\n");
        for ((m, v, f), n) in &g.unknown {
            let _ = writeln!(
                o,
                "neurite_unknown_categories_total{{model=\"{}\",version=\"{v}\",field=\"{}\"}} {n}",
                esc(m),
                esc(f)
            );
        }
        let _ = writeln!(
            o,
            "# HELP neurite_in_flight_requests Requests being handled.\n# TYPE neurite_in_flight_requests gauge\nneurite_in_flight_requests {}",
            self.in_flight()
        );
        let _ = writeln!(
            o,
            "# HELP neurite_batched_passes_total Forward passes run for small requests (opportunistic batching).\n# TYPE neurite_batched_passes_total counter\nneurite_batched_passes_total {}\n# HELP neurite_batched_requests_total Small requests answered by those passes.\n# TYPE neurite_batched_requests_total counter\nneurite_batched_requests_total {}",
            crate::batch::PASSES.load(Ordering::Relaxed),
            crate::batch::REQUESTS.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            o,
            "# HELP neurite_models_served Models this server answers for.\n# TYPE neurite_models_served gauge\nneurite_models_served {models_served}"
        );
        o
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.record("v1_predict", Some(("iris", 2)), 200, 0.0003, 5);
        m.record("v1_predict", Some(("iris", 2)), 400, 0.002, 0);
        m.record("ping", None, 200, 0.00001, 0);
        let t = m.render(1);
        assert!(t.contains(
            "neurite_requests_total{route=\"v1_predict\",model=\"iris\",version=\"2\",status=\"200\"} 1"
        ));
        assert!(t.contains("neurite_request_errors_total{route=\"v1_predict\",model=\"iris\",version=\"2\",status=\"400\"} 1"));
        assert!(t.contains("neurite_request_duration_seconds_bucket{route=\"v1_predict\",model=\"iris\",version=\"2\",le=\"0.0005\"} 1"));
        assert!(t.contains("neurite_request_duration_seconds_count{route=\"v1_predict\",model=\"iris\",version=\"2\"} 2"));
        assert!(t.contains("neurite_rows_predicted_total{model=\"iris\",version=\"2\"} 5"));
        assert_eq!(m.totals_for("iris"), (2, 1, 5));
        let _g = m.start();
        assert!(m.render(1).contains("neurite_in_flight_requests 1"));
    }
}

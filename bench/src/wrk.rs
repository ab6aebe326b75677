//! Runs `wrk` and reads its report.
//!
//! wrk keeps connections alive; when a response says `Connection: close` it reconnects, so
//! against these servers it too opens one connection per request. Its latency runs from
//! sending the request to the end of the response (the connect is not in it).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct WrkReport {
    pub requests: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// `Socket errors: ...` and `Non-2xx or 3xx responses: ...`, when wrk printed them.
    pub errors: Vec<String>,
}

pub fn run(
    wrk: &Path,
    addr: SocketAddr,
    threads: usize,
    connections: usize,
    duration: Duration,
) -> Result<WrkReport, String> {
    let output = Command::new(wrk)
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg(format!("http://{addr}/"))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", wrk.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            output.status,
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse(&text).ok_or_else(|| format!("cannot read wrk's report:\n{text}"))
}

fn parse(text: &str) -> Option<WrkReport> {
    let mut report = WrkReport::default();
    let mut rate = None;
    for line in text.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            rate = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("50%") {
            report.p50_ms = millis(value.trim())?;
        } else if let Some(value) = line.strip_prefix("99%") {
            report.p99_ms = millis(value.trim())?;
        } else if line.contains(" requests in ") {
            report.requests = line.split_whitespace().next()?.parse().ok()?;
        } else if line.starts_with("Socket errors:") || line.starts_with("Non-2xx") {
            report.errors.push(line.to_string());
        }
    }
    report.rate = rate?;
    Some(report)
}

/// wrk's `812.00us`, `1.25ms`, `2.01s`, `1.50m` in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let text = "Running 5s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   812.00us  300.00us   5.00ms   90.00%\n  Latency Distribution\n     50%  780.00us\n     75%    1.00ms\n     90%    1.20ms\n     99%    2.50ms\n  225000 requests in 5.00s, 60.00MB read\n  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec:  45000.12\nTransfer/sec:     12.00MB\n";
        let report = parse(text).unwrap();
        assert_eq!(report.requests, 225_000);
        assert!((report.rate - 45000.12).abs() < 1e-6);
        assert!((report.p50_ms - 0.78).abs() < 1e-9);
        assert!((report.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!(report.errors.len(), 1);
    }
}

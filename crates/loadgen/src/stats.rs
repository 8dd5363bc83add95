//! What a run measured: counts, and latency percentiles from an HDR histogram.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Send → receive latencies, in microseconds.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// `None` only if the histogram's fixed bounds were ever refused (they are valid).
    histogram: Option<Histogram<u64>>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            // 1 µs to 10 minutes at three significant digits.
            histogram: Histogram::new_with_bounds(1, 600_000_000, 3).ok(),
        }
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Latencies {
    /// Records one latency.
    pub fn record(&mut self, micros: u64) {
        if let Some(h) = &mut self.histogram {
            let _ = h.record(micros.clamp(1, 600_000_000));
        }
    }

    /// Adds another's samples.
    pub fn merge(&mut self, other: &Latencies) {
        if let (Some(h), Some(o)) = (&mut self.histogram, &other.histogram) {
            let _ = h.add(o);
        }
    }

    /// The percentiles, in milliseconds.
    pub fn percentiles(&self) -> Percentiles {
        let Some(h) = &self.histogram else {
            return Percentiles::default();
        };
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            p999: ms(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }
}

/// What one receiving session saw in one room.
#[derive(Debug, Clone, Default)]
pub struct Reception {
    /// The highest seq seen.
    pub last_seq: i64,
    /// Messages received (first time).
    pub delivered: u64,
    /// Messages received again.
    pub duplicated: u64,
    /// Messages whose seq jumped ahead (the session skipped or reordered something).
    pub out_of_order: u64,
}

impl Reception {
    /// Accounts for a message with `seq`.
    pub fn saw(&mut self, seq: i64) {
        if seq <= self.last_seq {
            self.duplicated += 1;
        } else {
            if seq != self.last_seq + 1 {
                self.out_of_order += 1;
            }
            self.last_seq = seq;
            self.delivered += 1;
        }
    }
}

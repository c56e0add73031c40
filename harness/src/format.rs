//! Number formatting shared by the markdown report and the terminal table.

/// A duration in microseconds, in the unit people read best: `850µs`, `1.23ms`, `2.10s`.
pub(crate) fn format_duration_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// A fraction as a percentage: `0.0123` → `1.23%`.
pub(crate) fn format_percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// A byte count in binary units: `1.50 MiB`.
pub(crate) fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// A rate with a thousands-friendly precision: `12345/s`, `12.3/s`.
pub(crate) fn format_rate(per_s: f64) -> String {
    if per_s >= 100.0 {
        format!("{per_s:.0}/s")
    } else {
        format!("{per_s:.1}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_duration_us(850.0), "850µs");
        assert_eq!(format_duration_us(1_234.0), "1.23ms");
        assert_eq!(format_duration_us(2_100_000.0), "2.10s");
        assert_eq!(format_percent(0.0123), "1.23%");
        assert_eq!(format_bytes(1536.0), "1.50 KiB");
        assert_eq!(format_bytes(10.0), "10 B");
        assert_eq!(format_rate(12345.4), "12345/s");
    }
}

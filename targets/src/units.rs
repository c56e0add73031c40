//! Units people write in scenarios and on the command line: sizes ("8MiB"), byte rates
//! ("2MiB/s", "100Mbit/s"), durations ("250ms", "1.5s"), arrival rates ("500/s") and
//! percentages ("1%").
//!
//! Every type parses from a string (`FromStr`), deserializes from TOML strings (sizes
//! also from bare integers), and prints back in a canonical form that parses to the
//! same value, so a resolved scenario round-trips through the report.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A unit string that could not be parsed; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} \"{input}\": expected {expected}")]
pub struct UnitError {
    what: &'static str,
    input: String,
    expected: &'static str,
}

impl UnitError {
    fn new(what: &'static str, input: &str, expected: &'static str) -> Self {
        Self {
            what,
            input: input.to_string(),
            expected,
        }
    }
}

const SIZE_EXPECTED: &str =
    "a number and a unit: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB (for example \"8MiB\")";
const RATE_EXPECTED: &str =
    "a size per second such as \"2MiB/s\" or \"100Mbit/s\" (bit units: kbit, Mbit, Gbit)";
const DURATION_EXPECTED: &str =
    "a number and a unit: ns, us, ms, s, m, min, h (for example \"250ms\" or \"1.5s\")";
const ARRIVAL_EXPECTED: &str =
    "operations per unit of time such as \"500/s\", \"30/min\" or \"10/h\"";
const PERCENT_EXPECTED: &str = "a percentage such as \"1%\" or \"0.5%\"";

/// Splits "12.5MiB" into (12.5, "MiB"); spaces between number and unit are allowed.
fn split_number(input: &str) -> Option<(f64, &str)> {
    let s = input.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let num: String = num.chars().filter(|c| *c != '_').collect();
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    value.is_finite().then_some((value, unit.trim()))
}

fn size_multiplier(unit: &str) -> Option<u64> {
    Some(match unit {
        "" | "B" | "b" => 1,
        "KiB" | "kiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return None,
    })
}

/// Multiplies and checks that the result is a whole, representable number of units.
fn scaled(value: f64, multiplier: f64) -> Option<u64> {
    let product = value * multiplier;
    (product.is_finite() && product >= 0.0 && product <= u64::MAX as f64)
        .then(|| product.round() as u64)
}

/// A number of bytes, written "8MiB", "512KB" or a bare integer of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new("size", s, SIZE_EXPECTED);
        let (value, unit) = split_number(s).ok_or_else(err)?;
        let multiplier = size_multiplier(unit).ok_or_else(err)?;
        scaled(value, multiplier as f64)
            .map(ByteSize)
            .ok_or_else(err)
    }
}

/// Formats a byte count with the largest binary unit that divides it exactly.
fn format_bytes(bytes: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (unit, mult) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= mult && bytes % mult == 0 {
            return write!(f, "{}{unit}", bytes / mult);
        }
    }
    write!(f, "{bytes}B")
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_bytes(self.0, f)
    }
}

/// A transfer rate in bytes per second, written "2MiB/s" or "100Mbit/s".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteRate(pub u64);

impl ByteRate {
    /// The rate in bytes per second.
    pub fn bytes_per_sec(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteRate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new("rate", s, RATE_EXPECTED);
        let trimmed = s.trim();
        let (amount, per) = if let Some(a) = trimmed.strip_suffix("ps") {
            (a, "s") // "100Mbps"
        } else {
            trimmed.rsplit_once('/').ok_or_else(err)?
        };
        if per.trim() != "s" {
            return Err(err());
        }
        let (value, unit) = split_number(amount).ok_or_else(err)?;
        let bits = match unit {
            "bit" | "b" => Some(1.0),
            "kbit" | "Kbit" | "kb" | "Kb" => Some(1e3),
            "Mbit" | "Mb" => Some(1e6),
            "Gbit" | "Gb" => Some(1e9),
            _ => None,
        };
        let bytes = match bits {
            Some(mult) => scaled(value, mult / 8.0),
            None => size_multiplier(unit).and_then(|m| scaled(value, m as f64)),
        };
        match bytes {
            Some(b) if b > 0 => Ok(ByteRate(b)),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for ByteRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_bytes(self.0, f)?;
        f.write_str("/s")
    }
}

/// Parses a duration such as "250ms", "1.5s", "2m" or "0".
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let err = || UnitError::new("duration", s, DURATION_EXPECTED);
    let (value, unit) = split_number(s).ok_or_else(err)?;
    let nanos_per_unit = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" | "sec" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        "" if value == 0.0 => 0.0,
        _ => return Err(err()),
    };
    let nanos = scaled(value, nanos_per_unit).ok_or_else(err)?;
    Ok(Duration::from_nanos(nanos))
}

/// Formats a duration in the largest unit that represents it exactly.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    for (unit, mult) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos >= mult && nanos % mult == 0 {
            return format!("{}{unit}", nanos / mult);
        }
    }
    if nanos == 0 {
        "0s".to_string()
    } else {
        format!("{nanos}ns")
    }
}

/// A duration written "250ms", "1.5s", "2m"; a newtype so it can live in scenario structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(HumanDuration)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// Operations arriving per second, written "500/s", "30/min" or "10/h".
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ArrivalRate(pub f64);

impl ArrivalRate {
    /// Arrivals per second.
    pub fn per_sec(self) -> f64 {
        self.0
    }
}

impl FromStr for ArrivalRate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new("arrival rate", s, ARRIVAL_EXPECTED);
        let (count, per) = s.trim().rsplit_once('/').ok_or_else(err)?;
        let (value, unit) = split_number(count).ok_or_else(err)?;
        if !unit.is_empty() {
            return Err(err());
        }
        let seconds = match per.trim() {
            "ms" => 1e-3,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        let rate = value / seconds;
        (rate.is_finite() && rate >= 0.0)
            .then_some(ArrivalRate(rate))
            .ok_or_else(err)
    }
}

impl fmt::Display for ArrivalRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// A percentage written "1%"; stored as a fraction (1% = 0.01).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl Percent {
    /// The value as a fraction of one.
    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl FromStr for Percent {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new("percentage", s, PERCENT_EXPECTED);
        let (value, unit) = split_number(s).ok_or_else(err)?;
        if unit != "%" {
            return Err(err());
        }
        Ok(Percent(value / 100.0))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// Serde support for unit types: deserialize from a string, serialize as the canonical string.
macro_rules! serde_via_str {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = StringOrNumber::deserialize(d)?.into_text();
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_via_str!(ByteSize, ByteRate, HumanDuration, ArrivalRate, Percent);

/// Units are written as strings; a bare integer is accepted and read as the base unit text
/// (bytes for sizes), so `object_size = 1024` works and `duration = 10` gives a clear error.
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    Text(String),
    Integer(u64),
}

impl StringOrNumber {
    fn into_text(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Integer(n) => n.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!("8MiB".parse::<ByteSize>().unwrap().0, 8 << 20);
        assert_eq!("8 MiB".parse::<ByteSize>().unwrap().0, 8 << 20);
        assert_eq!("1.5KiB".parse::<ByteSize>().unwrap().0, 1536);
        assert_eq!("100KB".parse::<ByteSize>().unwrap().0, 100_000);
        assert_eq!("512".parse::<ByteSize>().unwrap().0, 512);
        assert!("8XB".parse::<ByteSize>().is_err());
        assert!("".parse::<ByteSize>().is_err());
        assert!("-1B".parse::<ByteSize>().is_err());
        assert!("1e3B".parse::<ByteSize>().is_err());
        assert_eq!(ByteSize(8 << 20).to_string(), "8MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }

    #[test]
    fn rates() {
        assert_eq!("2MiB/s".parse::<ByteRate>().unwrap().0, 2 << 20);
        assert_eq!("100Mbit/s".parse::<ByteRate>().unwrap().0, 12_500_000);
        assert_eq!("100Mbps".parse::<ByteRate>().unwrap().0, 12_500_000);
        assert!("2MiB".parse::<ByteRate>().is_err());
        assert!("2MiB/h".parse::<ByteRate>().is_err());
        assert!("0MiB/s".parse::<ByteRate>().is_err());
        assert_eq!(ByteRate(16 << 20).to_string(), "16MiB/s");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn arrivals_and_percent() {
        assert_eq!("500/s".parse::<ArrivalRate>().unwrap().0, 500.0);
        assert_eq!("30/min".parse::<ArrivalRate>().unwrap().0, 0.5);
        assert!("500".parse::<ArrivalRate>().is_err());
        assert!("500/fortnight".parse::<ArrivalRate>().is_err());
        assert_eq!("1%".parse::<Percent>().unwrap().0, 0.01);
        assert!("1".parse::<Percent>().is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn size_display_round_trips(n in 0u64..(1 << 50)) {
                let shown = ByteSize(n).to_string();
                prop_assert_eq!(shown.parse::<ByteSize>().unwrap(), ByteSize(n));
            }

            #[test]
            fn rate_display_round_trips(n in 1u64..(1 << 40)) {
                let shown = ByteRate(n).to_string();
                prop_assert_eq!(shown.parse::<ByteRate>().unwrap(), ByteRate(n));
            }

            #[test]
            fn duration_display_round_trips(ns in 0u64..(1 << 50)) {
                let d = Duration::from_nanos(ns);
                prop_assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
            }

            #[test]
            fn arbitrary_text_never_panics(s in ".{0,24}") {
                let _ = s.parse::<ByteSize>();
                let _ = s.parse::<ByteRate>();
                let _ = parse_duration(&s);
                let _ = s.parse::<ArrivalRate>();
                let _ = s.parse::<Percent>();
            }
        }
    }
}

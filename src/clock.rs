//! Time as text: UTC calendar dates from the system clock, with no time-zone database.

use std::time::Duration;

/// (year, month, day, hour, minute, second) in UTC of a time since the Unix epoch (Howard
/// Hinnant's days-to-civil algorithm).
pub fn civil(since_epoch: Duration) -> (i64, u32, u32, u32, u32, u32) {
    let secs = since_epoch.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Now as RFC 3339 UTC ("2026-11-25T09:30:00Z").
pub fn now_rfc3339() -> String {
    let (y, mo, d, h, mi, s) = civil(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(Duration::ZERO), (1970, 1, 1, 0, 0, 0));
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(
            civil(Duration::from_secs(1_709_251_199)),
            (2024, 2, 29, 23, 59, 59)
        );
    }
}

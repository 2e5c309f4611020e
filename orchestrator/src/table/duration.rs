//! Ages and durations as upstream prints them (`k8s.io/apimachinery/pkg/util/duration`).

use jiff::{SignedDuration, Timestamp};

/// Upstream's `duration.HumanDuration`: about two or three significant figures (`5s`, `3m20s`,
/// `25m`, `5h2m`, `2d5h`, `3y45d`).
pub(crate) fn human_duration(d: SignedDuration) -> String {
    // Go's `int(d.Seconds())` truncates toward zero, as `as_secs` does.
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// A `metav1.Time` from its JSON form; `None` for a missing, null or unparsable value (Go's zero
/// time).
pub(crate) fn parse_time(v: Option<&serde_json::Value>) -> Option<Timestamp> {
    v.and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// Upstream's `translateTimestampSince`: the age of `t` at `now`, or `<unknown>` for a zero time.
pub(crate) fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(-5, "<invalid>")]
    #[case(-1, "0s")]
    #[case(0, "0s")]
    #[case(5, "5s")]
    #[case(119, "119s")]
    #[case(120, "2m")]
    #[case(200, "3m20s")]
    #[case(599, "9m59s")]
    #[case(600, "10m")]
    #[case(179 * 60 + 59, "179m")]
    #[case(3 * 3600, "3h")]
    #[case(5 * 3600 + 2 * 60 + 7, "5h2m")]
    #[case(8 * 3600, "8h")]
    #[case(47 * 3600 + 59 * 60, "47h")]
    #[case(48 * 3600, "2d")]
    #[case(2 * 86400 + 5 * 3600, "2d5h")]
    #[case(8 * 86400, "8d")]
    #[case(729 * 86400, "729d")]
    #[case(730 * 86400, "2y")]
    #[case(3 * 365 * 86400 + 45 * 86400, "3y45d")]
    #[case(9 * 365 * 86400 + 45 * 86400, "9y")]
    fn human_duration_matches_upstream(#[case] seconds: i64, #[case] want: &str) {
        assert_eq!(human_duration(SignedDuration::from_secs(seconds)), want);
    }

    #[test]
    fn sub_second_deviation_counts_as_now() {
        assert_eq!(human_duration(SignedDuration::from_millis(-1500)), "0s");
        assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
    }

    #[test]
    fn age_of_a_missing_timestamp_is_unknown() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
        assert_eq!(since(parse_time(None), now), "<unknown>");
        let created = parse_time(Some(&serde_json::json!("2025-12-31T23:56:40Z")));
        assert_eq!(since(created, now), "3m20s");
    }
}

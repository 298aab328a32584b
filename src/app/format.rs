//! How the app writes a figure: thousands separators, a precision that follows the magnitude,
//! milliseconds or seconds for durations, and noise shown as 0 (never "-0.0" or "$-0.00").
//!
//! Colours and alarms are decided on the value as shown: use [`rate_is_zero`] and
//! [`duration_is_zero`] so that a backlog printed as "0 req/s" is never painted red.

pub use crate::model::units::{grouped, shown_value, NOISE, NONE};

/// Decimals for a figure of this magnitude: 2 below 10, 1 below 100, none from 100 up
/// (about three significant digits, never more than two decimals).
pub fn decimals_for(value: f64) -> usize {
    let magnitude = value.abs();
    if magnitude < 9.995 {
        2
    } else if magnitude < 99.95 {
        1
    } else {
        0
    }
}

/// A count or ratio with the precision of its magnitude: "12,345", "42.5", "0.37".
pub fn number(value: f64) -> String {
    if shown_value(value, 2) == 0.0 {
        return "0".to_string();
    }
    grouped(value, decimals_for(shown_value(value, 2)))
}

/// A whole count: "1,000".
pub fn count(value: impl Into<u64>) -> String {
    grouped(value.into() as f64, 0)
}

/// A request rate: "12,345 req/s", "42.5 req/s", "0.37 req/s", "0 req/s".
pub fn rate(rps: f64) -> String {
    format!("{} req/s", number(rps))
}

/// Whether a rate prints as zero (then it must not raise an alarm).
pub fn rate_is_zero(rps: f64) -> bool {
    shown_value(rps, decimals_for(rps)) == 0.0
}

/// A duration given in milliseconds: "0 ms", "0.42 ms", "42.1 ms", "421 ms", "1.23 s",
/// "1,234 s".
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return grouped(ms, 0);
    }
    let shown_ms = shown_value(ms, decimals_for(ms));
    if shown_ms == 0.0 {
        "0 ms".to_string()
    } else if shown_ms.abs() < 1000.0 {
        format!("{} ms", grouped(ms, decimals_for(ms)))
    } else {
        format!("{} s", number(ms / 1000.0))
    }
}

/// Whether a duration prints as zero.
pub fn duration_is_zero(ms: f64) -> bool {
    shown_value(ms, decimals_for(ms)) == 0.0
}

/// A latency of requests of which `served_rps` complete per second: [`NONE`] when none do
/// (all dropped, or no traffic: a figure of 0 ms would claim they are instant). A trickle
/// that does complete keeps its real latency, even where its rate prints as "0 req/s".
pub fn latency_ms(ms: f64, served_rps: f64) -> String {
    if served_rps.abs() < NOISE {
        NONE.to_string()
    } else {
        duration_ms(ms)
    }
}

/// A sum of money with cents: "$1,234.56" ("-$5.00" below zero).
pub fn money(usd: f64) -> String {
    let text = grouped(usd, 2);
    match text.strip_prefix('-') {
        Some(positive) => format!("-${positive}"),
        None => format!("${text}"),
    }
}

/// A sum of money in whole dollars: "$1,235".
pub fn money_whole(usd: f64) -> String {
    let text = grouped(usd, 0);
    match text.strip_prefix('-') {
        Some(positive) => format!("-${positive}"),
        None => format!("${text}"),
    }
}

/// A monthly cost: "$1,234.56/month".
pub fn per_month(usd: f64) -> String {
    format!("{}/month", money(usd))
}

/// A fraction as a percentage with `decimals` decimals: `percent(0.8123, 1)` = "81.2%".
pub fn percent(fraction: f64, decimals: usize) -> String {
    format!("{}%", grouped(fraction * 100.0, decimals))
}

/// A load multiplier: "×1.23".
pub fn multiplier(factor: f64) -> String {
    format!("×{}", grouped(factor, 2))
}

/// A plot axis label for a grid mark `step` apart from its neighbours: as many decimals as
/// the step needs, thousands separated ("300,000", "0.25").
pub fn axis(value: f64, step: f64) -> String {
    let decimals = if step.is_finite() && step > 0.0 && step < 1.0 {
        (-step.log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        0
    };
    grouped(value, decimals)
}

/// A plot tick in SI units for grid marks `step` apart: "600k", "1.5M", "250"; the prefix
/// follows the step so that every mark of an axis uses the same one.
pub fn si_axis(value: f64, step: f64) -> String {
    crate::io::export::si_tick(value, step)
}

/// A latency tick in milliseconds, written in seconds from one second up ("250 ms", "1.5 s").
pub fn latency_axis(ms: f64, step_ms: f64) -> String {
    if ms == 0.0 {
        // egui_plot gives the zero mark the coarsest step of the axis; it needs no unit.
        "0".to_owned()
    } else if ms.abs() >= 1000.0 {
        format!("{} s", axis(ms / 1000.0, step_ms / 1000.0))
    } else {
        format!("{} ms", axis(ms, step_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_ticks_use_si_prefixes_by_step() {
        assert_eq!(si_axis(600_000.0, 100_000.0), "600k");
        assert_eq!(si_axis(1_500_000.0, 500_000.0), "1.5M");
        assert_eq!(si_axis(250.0, 50.0), "250");
        assert_eq!(si_axis(0.0, 100_000.0), "0");
        assert_eq!(si_axis(2.5, 0.5), "2.5");
        assert_eq!(latency_axis(250.0, 50.0), "250 ms");
        assert_eq!(latency_axis(1500.0, 500.0), "1.5 s");
        assert_eq!(latency_axis(0.0, 1000.0), "0");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(grouped(0.0, 0), "0");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(1000.0, 0), "1,000");
        assert_eq!(grouped(12_345.0, 0), "12,345");
        assert_eq!(grouped(1_234_567.0, 0), "1,234,567");
        assert_eq!(grouped(-1_234_567.25, 1), "-1,234,567.3");
        assert_eq!(grouped(999_999.6, 0), "1,000,000");
        assert_eq!(rate(12_345.4), "12,345 req/s");
        assert_eq!(per_month(1234.564), "$1,234.56/month");
        assert_eq!(money_whole(1_234_567.5), "$1,234,568");
        assert_eq!(count(1_000_u32), "1,000");
    }

    #[test]
    fn noise_and_negative_zero_show_as_zero() {
        for value in [-0.0, -1e-12, 1e-12, -0.004, -0.0000000009] {
            let text = grouped(value, 2);
            assert_eq!(text, "0.00", "{value}");
        }
        assert_eq!(grouped(-0.04, 1), "0.0");
        assert_eq!(money(-0.0), "$0.00");
        assert_eq!(money(-1e-10), "$0.00");
        assert_eq!(per_month(-0.0), "$0.00/month");
        assert_eq!(rate(-1e-11), "0 req/s");
        assert_eq!(rate(0.004), "0 req/s");
        assert_eq!(number(-0.0), "0");
        assert_eq!(percent(-1e-12, 1), "0.0%");
        assert_eq!(duration_ms(-0.0), "0 ms");
        assert_eq!(duration_ms(0.001), "0 ms");
        assert_eq!(money(-5.0), "-$5.00");
        assert!(shown_value(-0.0, 1).is_sign_positive());
    }

    #[test]
    fn alarms_follow_the_figure_as_shown() {
        // A backlog of 0.004 req/s prints as "0 req/s": no alarm.
        assert!(rate_is_zero(0.004));
        assert!(rate_is_zero(-1e-10));
        assert!(rate_is_zero(0.0));
        assert!(!rate_is_zero(0.005));
        assert!(!rate_is_zero(250.0));
        assert!(duration_is_zero(0.001));
        assert!(!duration_is_zero(0.01));
    }

    #[test]
    fn precision_follows_the_magnitude() {
        assert_eq!(number(0.3712), "0.37");
        assert_eq!(number(4.219), "4.22");
        assert_eq!(number(42.54), "42.5");
        assert_eq!(number(421.4), "421");
        assert_eq!(number(9.996), "10.0");
        assert_eq!(rate(243.05), "243 req/s");
        assert_eq!(duration_ms(0.4213), "0.42 ms");
        assert_eq!(duration_ms(42.13), "42.1 ms");
        assert_eq!(duration_ms(421.3), "421 ms");
        assert_eq!(duration_ms(999.7), "1.00 s");
        assert_eq!(duration_ms(1234.0), "1.23 s");
        assert_eq!(duration_ms(12_345.0), "12.3 s");
        assert_eq!(duration_ms(1_234_567.0), "1,235 s");
        assert_eq!(percent(0.8123, 1), "81.2%");
        assert_eq!(percent(0.8123, 0), "81%");
        assert_eq!(multiplier(1.2345), "×1.23");
        assert_eq!(axis(300_000.0, 100_000.0), "300,000");
        assert_eq!(axis(0.25, 0.05), "0.25");
        assert_eq!(axis(-1e-12, 0.1), "0.0");
    }

    #[test]
    fn a_latency_of_nothing_served_is_a_dash() {
        assert_eq!(latency_ms(0.0, 0.0), NONE);
        assert_eq!(latency_ms(0.0, 1e-12), NONE);
        assert_eq!(latency_ms(12.0, 0.5), "12.0 ms");
        assert_eq!(latency_ms(4605.2, 0.001), "4.61 s");
    }

    #[test]
    fn non_finite_values_are_named_not_printed_as_numbers() {
        assert_eq!(grouped(f64::NAN, 1), NONE);
        assert_eq!(grouped(f64::INFINITY, 1), "∞");
    }
}

//! How figures are written as text anywhere (app, command line, exports): thousands
//! separators, and rounding noise shown as 0 (never "-0.0").

/// Magnitudes below this are rounding noise of the solver and are shown as 0.
pub const NOISE: f64 = 1e-9;

/// The text shown where a figure does not exist (a latency of requests that never complete).
pub const NONE: &str = "—";

/// `value` as it will be printed with `decimals` decimals: noise, and anything that rounds to
/// zero, becomes +0 (so the sign of a negative zero never shows).
pub fn shown_value(value: f64, decimals: usize) -> f64 {
    if !value.is_finite() {
        return value;
    }
    let scale = 10f64.powi(decimals.min(15) as i32);
    let rounded = (value * scale).round() / scale;
    if value.abs() < NOISE || rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// `value` with `decimals` decimals and a comma between groups of three digits.
///
/// ```
/// use staircase::model::units::grouped;
/// assert_eq!(grouped(1234567.891, 2), "1,234,567.89");
/// assert_eq!(grouped(-0.0000000001, 1), "0.0");
/// ```
pub fn grouped(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            NONE.to_string()
        } else if value > 0.0 {
            "∞".to_string()
        } else {
            "-∞".to_string()
        };
    }
    let value = shown_value(value, decimals);
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    if value < 0.0 {
        out.push('-');
    }
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

//! Value axes of the plots that stay readable at any height and range: labelled ticks 1, 2 or
//! 5 × 10ⁿ apart, chosen so that every label has room (egui_plot's own spacer steps by powers
//! of ten, which leaves a short plot with a single "0" label when its range is below the next
//! power of ten).

use egui_plot::{AxisHints, GridInput, GridMark};

/// Least distance between two labelled ticks on a value axis, points (a label is about 14
/// points high).
pub const LABEL_GAP: f32 = 22.0;
/// egui_plot's default `grid_spacing` minimum: its `base_step_size` is the value per point
/// times this.
const GRID_SPACING_MIN: f64 = 8.0;

/// The smallest step of the form 1, 2 or 5 × 10ⁿ that is at least `least`.
///
/// ```
/// use staircase::app::plot_axes::nice_step;
/// assert_eq!(nice_step(0.3), 0.5);
/// assert_eq!(nice_step(17.0), 20.0);
/// assert_eq!(nice_step(100.0), 100.0);
/// ```
pub fn nice_step(least: f64) -> f64 {
    if !(least.is_finite() && least > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(least.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= least * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

/// The three step sizes of a value axis: fine grid lines, labelled ticks at least
/// [`LABEL_GAP`] points apart, and coarse lines ten labelled steps apart.
pub fn steps(input: &GridInput) -> [f64; 3] {
    let per_point = input.base_step_size.abs() / GRID_SPACING_MIN;
    let labelled = nice_step(per_point * f64::from(LABEL_GAP));
    // The fine step is the next 1-2-5 step down by at least a factor of 2.5.
    let leading = labelled / 10f64.powf(labelled.log10().floor());
    let fine = if (leading - 2.0).abs() < 1e-9 {
        labelled / 4.0
    } else {
        labelled / 5.0
    };
    [fine, labelled, labelled * 10.0]
}

/// The grid marks of a value axis (see [`steps`]).
pub fn marks(input: GridInput) -> Vec<GridMark> {
    let sizes = steps(&input);
    egui_plot::uniform_grid_spacer(move |_| sizes)(input)
}

/// A left value axis named `label` whose ticks are written by `formatter`, with labels shown
/// from [`LABEL_GAP`] points apart (egui_plot's default hides them below 20 points and fades
/// them up to 30).
pub fn value_axis<'a>(
    label: &str,
    formatter: impl Fn(GridMark, &std::ops::RangeInclusive<f64>) -> String + 'a,
) -> AxisHints<'a> {
    AxisHints::new_y()
        .label(label)
        .formatter(formatter)
        .label_spacing(LABEL_GAP - 6.0..=LABEL_GAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labelled marks inside `bounds` on an axis `height` points high.
    fn labelled(bounds: (f64, f64), height: f64) -> Vec<f64> {
        let per_point = (bounds.1 - bounds.0) / height;
        let input = GridInput {
            bounds,
            base_step_size: per_point * GRID_SPACING_MIN,
        };
        let [_, label_step, _] = steps(&input);
        marks(input)
            .into_iter()
            .filter(|m| m.step_size >= label_step)
            // A label is painted where its step is wider than the axis's least label spacing.
            .filter(|m| m.step_size / per_point > f64::from(LABEL_GAP - 6.0))
            .map(|m| m.value)
            .collect()
    }

    #[test]
    fn a_short_axis_gets_several_labels_whatever_the_range() {
        // The stage 8 case: 0..60 ms on a plot 60 points high showed only "0" with egui_plot's
        // powers of ten (a 10 ms step is 10 points, too close; 100 ms is off the axis).
        for (range, height) in [
            ((0.0, 60.0), 60.0),
            ((0.0, 0.8), 60.0),
            ((0.0, 130.0), 70.0),
            ((0.0, 4000.0), 90.0),
            ((0.0, 1.7e6), 55.0),
            ((-3.0, 45.0), 200.0),
        ] {
            let labels = labelled(range, height);
            assert!(labels.len() >= 2, "{range:?} at {height} pt: {labels:?}");
            let gap = labels
                .windows(2)
                .map(|w| w[1] - w[0])
                .fold(f64::MAX, f64::min);
            let gap_points = gap / (range.1 - range.0) * height;
            assert!(
                gap_points >= f64::from(LABEL_GAP) - 1e-6,
                "{range:?}: labels {gap_points} points apart"
            );
            // At most 2.5 times the least gap apart (a 1-2-5 sequence), so no room is wasted.
            assert!(gap_points <= 2.5 * f64::from(LABEL_GAP) + 1e-6, "{range:?}");
        }
    }

    #[test]
    fn steps_follow_one_two_five() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(1.01), 2.0);
        assert_eq!(nice_step(4.2e-3), 5e-3);
        assert_eq!(nice_step(6_000.0), 10_000.0);
        let input = GridInput {
            bounds: (0.0, 100.0),
            base_step_size: 8.0 * 20.0 / LABEL_GAP as f64,
        };
        assert_eq!(steps(&input), [5.0, 20.0, 200.0]);
    }
}

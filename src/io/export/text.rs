//! Text of the PNG charts, drawn with the glyph outlines at their real positions.
//!
//! plotters 0.3.7 draws each glyph's pixels from the caret without the glyph's left side
//! bearing and truncates the caret to whole pixels, so the gaps between letters vary with the
//! letters ("1" sits against its left neighbour, "0" leaves a gap). [`EvenText`] wraps the
//! bitmap backend and draws text itself: every glyph at caret + bearing, the caret advanced
//! by the font's advances and kerning in fractions of a pixel, coverage blended into the
//! image. Everything else goes to the bitmap backend unchanged.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::{BitMapBackend, DrawingBackend};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// The bitmap backend with even glyph spacing (see the module documentation).
pub struct EvenText<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

/// Where the glyphs of a line of text go, relative to its anchor, in pixels.
struct Placed {
    glyphs: Vec<ab_glyph::Glyph>,
    width: f32,
    /// Ascent and descent (negative) of the font at this size.
    ascent: f32,
    descent: f32,
    /// Height of a capital letter or digit above the baseline.
    cap_height: f32,
}

impl<'a> EvenText<'a> {
    /// Wraps `inner`, drawing its text with `font`.
    pub fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        Self { inner, font }
    }

    /// Lays `text` out on one line at `size` pixels, the caret starting at 0 on the baseline.
    fn place(&self, text: &str, size: f32) -> Placed {
        let font = self.font.as_scaled(PxScale::from(size));
        let mut glyphs = Vec::with_capacity(text.len());
        let mut caret = 0.0f32;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(before) = previous {
                caret += font.kern(before, id);
            }
            glyphs
                .push(id.with_scale_and_position(PxScale::from(size), ab_glyph::point(caret, 0.0)));
            caret += font.h_advance(id);
            previous = Some(id);
        }
        let cap_height = self
            .font
            .outline_glyph(font.scaled_glyph('H'))
            .map_or(0.7 * size, |o| -o.px_bounds().min.y);
        Placed {
            glyphs,
            width: caret,
            ascent: font.ascent(),
            descent: font.descent(),
            cap_height,
        }
    }
}

/// Offset of the baseline's start from the anchor for `anchor` (unrotated): horizontally by
/// the advance width; vertically the box from ascent to descent, its centre taken at half
/// the cap height so that digits and capitals sit in the middle.
fn origin(placed: &Placed, anchor: plotters_backend::text_anchor::Pos) -> (f32, f32) {
    let x = match anchor.h_pos {
        HPos::Left => 0.0,
        HPos::Center => -placed.width / 2.0,
        HPos::Right => -placed.width,
    };
    let y = match anchor.v_pos {
        VPos::Top => placed.ascent,
        VPos::Center => placed.cap_height / 2.0,
        VPos::Bottom => placed.descent,
    };
    (x, y)
}

impl DrawingBackend for EvenText<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let placed = self.place(text, style.size() as f32);
        let height = placed.ascent - placed.descent;
        let (width, height) = (placed.width.ceil() as u32, height.ceil() as u32);
        Ok(match style.transform() {
            plotters_backend::FontTransform::Rotate90
            | plotters_backend::FontTransform::Rotate270 => (height, width),
            _ => (width, height),
        })
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let placed = self.place(text, style.size() as f32);
        let (x0, y0) = origin(&placed, style.anchor());
        let transform = style.transform();
        let mut pixels = Vec::new();
        for glyph in &placed.glyphs {
            let mut glyph = glyph.clone();
            glyph.position = ab_glyph::point(glyph.position.x + x0, glyph.position.y + y0);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                let dx = bounds.min.x as i32 + x as i32;
                let dy = bounds.min.y as i32 + y as i32;
                pixels.push((transform.transform(dx, dy), coverage));
            });
        }
        for ((dx, dy), coverage) in pixels {
            if coverage > 0.0 {
                let shade = color.mix(f64::from(coverage.min(1.0)));
                self.inner.draw_pixel((pos.0 + dx, pos.1 + dy), shade)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    const SIZE: (u32, u32) = (400, 80);

    fn font() -> FontRef<'static> {
        FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font")
    }

    /// Renders `text` in black on white at `size` px from (20, 20), left-top anchored; returns
    /// the RGB pixels.
    fn rendered(text: &str, size: f64) -> Vec<u8> {
        let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let backend = EvenText::new(BitMapBackend::with_buffer(&mut pixels, SIZE), font());
            let root = backend.into_drawing_area();
            root.fill(&WHITE).expect("fill");
            let style = TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
            root.draw_text(text, &style, (20, 20)).expect("text");
            root.present().expect("present");
        }
        pixels
    }

    /// The first and last inked column of each run of inked columns, left to right.
    fn ink_runs(pixels: &[u8]) -> Vec<(u32, u32)> {
        let inked = |x: u32| (0..SIZE.1).any(|y| pixels[((y * SIZE.0 + x) * 3) as usize] < 160);
        let mut runs = Vec::new();
        let mut start = None;
        for x in 0..SIZE.0 {
            match (inked(x), start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    runs.push((s, x - 1));
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    #[test]
    fn each_glyph_starts_at_the_caret_plus_its_left_bearing() {
        // "1" has a wide left side bearing in Ubuntu, "0" a narrow one: plotters 0.3.7 drew
        // every glyph from the caret, so "10" crowded together and "01" gaped.
        let size = 40.0;
        let text = "1010";
        let runs = ink_runs(&rendered(text, size));
        assert_eq!(runs.len(), 4, "{runs:?}");
        let scaled = font().into_scaled(PxScale::from(size as f32));
        let mut caret = 20.0f32;
        let mut previous = None;
        for (c, (first, _)) in text.chars().zip(&runs) {
            let id = scaled.glyph_id(c);
            if let Some(before) = previous {
                caret += scaled.kern(before, id);
            }
            let expected = caret + scaled.h_side_bearing(id);
            assert!(
                (*first as f32 - expected).abs() <= 1.0,
                "{c} inked from {first}, expected {expected:.1} ({runs:?})"
            );
            caret += scaled.h_advance(id);
            previous = Some(id);
        }
        // The gaps between neighbours are what the font says, not what the bearings leave.
        let bearing_1 = scaled.h_side_bearing(scaled.glyph_id('1'));
        assert!(
            bearing_1 > 2.0,
            "the test needs a glyph with a wide bearing"
        );
    }

    #[test]
    fn anchors_place_the_text_box_and_centre_on_the_digits() {
        let font = font();
        let scaled = font.as_scaled(PxScale::from(30.0));
        let backend_pixels = &mut vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        let backend = EvenText::new(
            BitMapBackend::with_buffer(backend_pixels, SIZE),
            font.clone(),
        );
        let style = TextStyle::from(("sans-serif", 30.0).into_font());
        let (width, height) = backend.estimate_text_size("1000", &style).expect("size");
        let advances: f32 = "1000"
            .chars()
            .map(|c| scaled.h_advance(scaled.glyph_id(c)))
            .sum();
        assert!((width as f32 - advances).abs() <= 1.0);
        assert!((height as f32 - (scaled.ascent() - scaled.descent())).abs() <= 1.0);
        // Centred vertically: the digits' ink is as far above the anchor as below it.
        let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let backend = EvenText::new(BitMapBackend::with_buffer(&mut pixels, SIZE), font);
            let root = backend.into_drawing_area();
            root.fill(&WHITE).expect("fill");
            let centred = TextStyle::from(("sans-serif", 30.0).into_font())
                .color(&BLACK)
                .pos(plotters::style::text_anchor::Pos::new(
                    HPos::Left,
                    VPos::Center,
                ));
            root.draw_text("1000", &centred, (20, 40)).expect("text");
        }
        let inked_rows: Vec<u32> = (0..SIZE.1)
            .filter(|y| (0..SIZE.0).any(|x| pixels[((y * SIZE.0 + x) * 3) as usize] < 160))
            .collect();
        let (top, bottom) = (
            inked_rows[0] as f32,
            *inked_rows.last().expect("ink") as f32 + 1.0,
        );
        assert!(
            ((top + bottom) / 2.0 - 40.0).abs() <= 1.0,
            "ink from {top} to {bottom}"
        );
    }
}

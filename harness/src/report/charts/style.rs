//! The look shared by every chart: canvas size, margins, fonts and the colour of each
//! architecture. `cs` and `p2p` always get the same colours, in every chart, so a reader
//! who learned them on one chart can read the next without the legend.
//!
//! Colours come from the Okabe–Ito palette, which stays distinguishable for readers with
//! the common forms of colour blindness and in greyscale print-outs.

use crate::arch::Arch;
use plotters::style::RGBColor;

/// Canvas width in pixels.
pub(crate) const WIDTH: u32 = 800;
/// Canvas height in pixels.
pub(crate) const HEIGHT: u32 = 450;

/// Space around the whole chart, in pixels.
pub(crate) const MARGIN: i32 = 16;
/// Height of the title band (title and subtitle).
pub(crate) const TITLE_HEIGHT: i32 = 46;
/// Height of one row of legend entries.
pub(crate) const LEGEND_ROW_HEIGHT: i32 = 22;
/// Width of the line sample drawn before each legend label.
pub(crate) const LEGEND_SAMPLE_WIDTH: i32 = 26;
/// Room for the x tick labels and the x axis title, below the plot.
pub(crate) const X_LABEL_AREA: u32 = 52;
/// Room for the y tick labels and the y axis title, left of the plot.
pub(crate) const Y_LABEL_AREA: u32 = 78;
/// Room right of the plot, so the last x tick label is not cut off.
pub(crate) const RIGHT_MARGIN: u32 = 44;

/// Font family for every text element. The SVG backend writes `<text>` elements with this
/// family, so no font file is needed; the viewer picks its own sans-serif face.
pub(crate) const FONT: &str = "sans-serif";
/// Title size, in pixels.
pub(crate) const TITLE_PX: f64 = 18.0;
/// Subtitle size, in pixels.
pub(crate) const SUBTITLE_PX: f64 = 12.0;
/// Axis title size, in pixels.
pub(crate) const AXIS_TITLE_PX: f64 = 13.0;
/// Tick label size, in pixels.
pub(crate) const TICK_PX: f64 = 12.0;
/// Legend label size, in pixels.
pub(crate) const LEGEND_PX: f64 = 13.0;
/// Marker (fault) label size, in pixels.
pub(crate) const MARKER_PX: f64 = 11.0;

/// Width a text of `chars` characters takes at `px` pixels, estimated on the generous
/// side for a sans-serif face, used to lay out legend entries and marker labels so they
/// never overlap.
pub(crate) fn text_width(chars: usize, px: f64) -> i32 {
    (chars as f64 * px * 0.62).ceil() as i32
}

/// plotters divides font sizes by 1.24 when writing SVG; this undoes it so the sizes
/// above are the pixel sizes that end up in the file.
pub(crate) fn font_size(px: f64) -> f64 {
    px * 1.24
}

/// Text colour.
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Secondary text (subtitle, marker labels).
pub(crate) const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(0xe3, 0xe3, 0xe3);
/// Axis lines.
pub(crate) const AXIS: RGBColor = RGBColor(0x88, 0x88, 0x88);
/// Fault markers (vertical lines).
pub(crate) const MARKER: RGBColor = RGBColor(0x99, 0x33, 0x33);

/// Client-server: blue.
pub(crate) const CS: RGBColor = RGBColor(0x00, 0x72, 0xb2);
/// Peer-to-peer: vermillion.
pub(crate) const P2P: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
/// Line width of a data series, in pixels.
pub(crate) const LINE_WIDTH: u32 = 2;
/// Radius of a data point marker, in pixels.
pub(crate) const POINT_RADIUS: u32 = 4;

/// The colour of architecture `arch`.
pub(crate) fn arch_color(arch: Arch) -> RGBColor {
    match arch {
        Arch::Cs => CS,
        Arch::P2p => P2P,
    }
}

/// Shade `index` of `count` of a colour: when one architecture has several lines (runs
/// with different user counts), they go from light (first) to dark (last) in the
/// architecture's own hue. A single line keeps the pure colour.
pub(crate) fn shade(base: RGBColor, index: usize, count: usize) -> RGBColor {
    if count <= 1 {
        return base;
    }
    // From 45% towards white to 45% towards black.
    let t = index.min(count - 1) as f64 / (count - 1) as f64;
    let amount = 0.45 - 0.9 * t;
    let mix = |c: u8| -> u8 {
        let c = f64::from(c);
        let v = if amount >= 0.0 {
            c + (255.0 - c) * amount
        } else {
            c * (1.0 + amount)
        };
        v.round().clamp(0.0, 255.0) as u8
    };
    RGBColor(mix(base.0), mix(base.1), mix(base.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_keep_their_colours() {
        assert_eq!(arch_color(Arch::Cs), CS);
        assert_eq!(arch_color(Arch::P2p), P2P);
        assert_ne!(arch_color(Arch::Cs), arch_color(Arch::P2p));
        assert_eq!(shade(CS, 0, 1), CS);
        let light = shade(CS, 0, 3);
        let dark = shade(CS, 2, 3);
        assert!(light.2 > CS.2 && dark.2 < CS.2);
    }
}

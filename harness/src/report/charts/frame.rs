//! The one place that draws: a [`Chart`] (title, two [`Axis`], line series, vertical
//! markers) becomes an SVG string through plotters' SVG backend. Every chart module only
//! computes data and axes, so all charts share one layout: title and subtitle on top, the
//! legend in its own band under them (never over the data), then the plot with its axis
//! titles.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Axis;
use super::style::{self, font_size};

/// One line on a chart.
#[derive(Debug, Clone)]
pub(super) struct Series {
    /// Legend label.
    pub label: String,
    /// Line colour.
    pub color: RGBColor,
    /// Connected runs of points, in plot coordinates; a gap in the data starts a new one.
    pub segments: Vec<Vec<(f64, f64)>>,
    /// Dashed line (analytical bounds, secondary figures).
    pub dashed: bool,
    /// Draw a dot on every point (few, measured points such as a sweep).
    pub points: bool,
}

/// Everything on one chart.
#[derive(Debug, Clone)]
pub(super) struct Chart {
    /// Title, on top.
    pub title: String,
    /// One line under the title (what was measured, how to read it).
    pub subtitle: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The lines, in legend order.
    pub series: Vec<Series>,
    /// Vertical lines at x (plot coordinates) with a label, such as injected faults.
    pub markers: Vec<(f64, String)>,
}

/// Legend entries laid out in rows that fit the canvas: (row, x offset) per series.
fn legend_layout(series: &[Series], width: i32) -> (Vec<(i32, i32)>, i32) {
    let mut out = Vec::with_capacity(series.len());
    let (mut row, mut x) = (0, 0);
    for s in series {
        let w = style::LEGEND_SAMPLE_WIDTH
            + 6
            + style::text_width(s.label.chars().count(), style::LEGEND_PX)
            + 18;
        if x > 0 && x + w > width {
            row += 1;
            x = 0;
        }
        out.push((row, x));
        x += w;
    }
    let rows = if series.is_empty() { 0 } else { row + 1 };
    (out, rows)
}

fn clamp_point(chart: &Chart, (x, y): (f64, f64)) -> Option<(f64, f64)> {
    (x.is_finite() && y.is_finite()).then(|| {
        (
            x.clamp(chart.x.lo, chart.x.hi),
            y.clamp(chart.y.lo, chart.y.hi),
        )
    })
}

/// Draws `chart`; `None` when it has no drawable point or plotters fails.
pub(super) fn render(chart: &Chart) -> Option<String> {
    let drawable = chart
        .series
        .iter()
        .flat_map(|s| s.segments.iter().flatten())
        .any(|p| clamp_point(chart, *p).is_some());
    // Written so NaN bounds count as invalid.
    let valid_axes = chart.x.lo < chart.x.hi && chart.y.lo < chart.y.hi;
    if !drawable || !valid_axes {
        return None;
    }
    let mut svg = String::new();
    draw(chart, &mut svg).ok()?;
    Some(svg)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(chart: &Chart, svg: &mut String) -> DrawResult {
    let root = SVGBackend::with_string(svg, (style::WIDTH, style::HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let font = |px: f64| (style::FONT, font_size(px)).into_font();
    draw_titles(chart, &root)?;
    let top = draw_legend(chart, &root)?;
    let (_, body) = root.split_vertically(top);
    let x_ticks: Vec<f64> = chart.x.ticks.iter().map(|t| t.at).collect();
    let y_ticks: Vec<f64> = chart.y.ticks.iter().map(|t| t.at).collect();
    let mut cc = ChartBuilder::on(&body)
        .margin_left(style::MARGIN as u32)
        .margin_right(style::RIGHT_MARGIN)
        .margin_top(8)
        .margin_bottom(style::MARGIN as u32 / 2)
        .x_label_area_size(style::X_LABEL_AREA)
        .y_label_area_size(style::Y_LABEL_AREA)
        .build_cartesian_2d(
            Ticked::new(&chart.x, x_ticks),
            Ticked::new(&chart.y, y_ticks),
        )?;
    let x_fmt = |v: &f64| chart.x.label_at(*v);
    let y_fmt = |v: &f64| chart.y.label_at(*v);
    cc.configure_mesh()
        .x_desc(chart.x.title.clone())
        .y_desc(chart.y.title.clone())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(style::TICK_PX).color(&style::INK))
        .axis_desc_style(font(style::AXIS_TITLE_PX).color(&style::INK))
        .bold_line_style(style::GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(style::AXIS.stroke_width(1))
        .draw()?;

    for s in &chart.series {
        let line = s.color.stroke_width(style::LINE_WIDTH);
        for seg in &s.segments {
            let pts: Vec<(f64, f64)> = seg.iter().filter_map(|p| clamp_point(chart, *p)).collect();
            if s.dashed {
                cc.draw_series(DashedLineSeries::new(pts.clone(), 7, 5, line))?;
            } else {
                cc.draw_series(LineSeries::new(pts.clone(), line))?;
            }
            if s.points || pts.len() == 1 {
                let dot = if s.dashed {
                    WHITE.filled()
                } else {
                    s.color.filled()
                };
                cc.draw_series(
                    pts.iter()
                        .map(|p| Circle::new(*p, style::POINT_RADIUS, dot)),
                )?;
                cc.draw_series(
                    pts.iter()
                        .map(|p| Circle::new(*p, style::POINT_RADIUS, s.color.stroke_width(2))),
                )?;
            }
        }
    }

    draw_markers(chart, &cc, &root)?;
    root.present()?;
    Ok(())
}

type Root<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// The title and the subtitle (a long subtitle gets a smaller font rather than running
/// off the canvas).
fn draw_titles(chart: &Chart, root: &Root<'_>) -> DrawResult {
    let font = |px: f64| (style::FONT, font_size(px)).into_font();
    root.draw(&Text::new(
        chart.title.clone(),
        (style::MARGIN, style::MARGIN - 4),
        font(style::TITLE_PX)
            .style(FontStyle::Bold)
            .color(&style::INK),
    ))?;
    let room = f64::from(style::WIDTH) - 2.0 * f64::from(style::MARGIN);
    let needed = f64::from(style::text_width(
        chart.subtitle.chars().count(),
        style::SUBTITLE_PX,
    ));
    let subtitle_px = (style::SUBTITLE_PX * (room / needed).min(1.0)).max(9.0);
    root.draw(&Text::new(
        chart.subtitle.clone(),
        (style::MARGIN, style::MARGIN + 20),
        font(subtitle_px).color(&style::MUTED),
    ))?;
    Ok(())
}

/// The legend above the plot; returns where the plot may start.
fn draw_legend(chart: &Chart, root: &Root<'_>) -> Result<i32, Box<dyn std::error::Error>> {
    let font = |px: f64| (style::FONT, font_size(px)).into_font();
    let plot_left = style::MARGIN + style::Y_LABEL_AREA as i32;
    let legend_width = style::WIDTH as i32 - plot_left - style::MARGIN;
    let (slots, rows) = legend_layout(&chart.series, legend_width);
    let legend_top = style::TITLE_HEIGHT + 4;
    for (s, (row, dx)) in chart.series.iter().zip(&slots) {
        let x = plot_left + dx;
        let y = legend_top + row * style::LEGEND_ROW_HEIGHT + style::LEGEND_ROW_HEIGHT / 2;
        legend_sample(root, s, x, y)?;
        root.draw(&Text::new(
            s.label.clone(),
            (x + style::LEGEND_SAMPLE_WIDTH + 6, y),
            font(style::LEGEND_PX)
                .color(&style::INK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(legend_top + rows * style::LEGEND_ROW_HEIGHT + 4)
}

fn legend_sample(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    s: &Series,
    x: i32,
    y: i32,
) -> DrawResult {
    let line = s.color.stroke_width(style::LINE_WIDTH + 1);
    let w = style::LEGEND_SAMPLE_WIDTH;
    if s.dashed {
        root.draw(&PathElement::new(vec![(x, y), (x + 9, y)], line))?;
        root.draw(&PathElement::new(vec![(x + 17, y), (x + w, y)], line))?;
    } else {
        root.draw(&PathElement::new(vec![(x, y), (x + w, y)], line))?;
    }
    if s.points {
        let fill = if s.dashed {
            WHITE.filled()
        } else {
            s.color.filled()
        };
        root.draw(&Circle::new((x + w / 2, y), style::POINT_RADIUS, fill))?;
        root.draw(&Circle::new(
            (x + w / 2, y),
            style::POINT_RADIUS,
            s.color.stroke_width(2),
        ))?;
    }
    Ok(())
}

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticked, Ticked>>;

/// A linear plot coordinate whose grid lines and tick labels sit exactly on the ticks the
/// [`Axis`] chose (plotters' own f64 coordinate picks its own).
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(axis: &Axis, ticks: Vec<f64>) -> Self {
        Self {
            lo: axis.lo,
            hi: axis.hi,
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let frac = (value - self.lo) / (self.hi - self.lo);
        let px = f64::from(limit.0) + f64::from(limit.1 - limit.0) * frac;
        px.round()
            .clamp(f64::from(i32::MIN / 2), f64::from(i32::MAX / 2)) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Vertical dashed lines with their labels at the top of the plot. Labels that would
/// collide go one row lower; a label that would leave the plot on the right is written
/// to the left of its line.
fn draw_markers(
    chart: &Chart,
    cc: &Plot<'_, '_>,
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
) -> DrawResult {
    let (plot_x, _) = cc.plotting_area().get_pixel_range();
    let line = style::MARKER.stroke_width(1);
    let row_h = (style::MARKER_PX * 1.4).ceil() as i32;
    let mut row_ends: Vec<i32> = Vec::new();
    let mut markers: Vec<&(f64, String)> = chart
        .markers
        .iter()
        .filter(|(x, _)| x.is_finite() && *x >= chart.x.lo && *x <= chart.x.hi)
        .collect();
    markers.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Lines first, then labels, so no line crosses a label.
    let mut placed = Vec::with_capacity(markers.len());
    for (x, label) in markers {
        let (px, top) = cc.backend_coord(&(*x, chart.y.hi));
        let (_, bottom) = cc.backend_coord(&(*x, chart.y.lo));
        root.draw(&plotters::element::DashedPathElement::new(
            vec![(px, top), (px, bottom)],
            4,
            3,
            line,
        ))?;
        placed.push((px, top, label));
    }
    for (px, top, label) in placed {
        let w = style::text_width(label.chars().count(), style::MARKER_PX);
        let right_side = px + 4 + w <= plot_x.end;
        let (start, end) = if right_side {
            (px + 4, px + 4 + w)
        } else {
            (px - 4 - w, px - 4)
        };
        let row = match row_ends.iter().position(|e| *e + 6 <= start) {
            Some(r) => r,
            None => {
                row_ends.push(i32::MIN);
                row_ends.len() - 1
            }
        };
        row_ends[row] = end;
        // A light box behind the label keeps it readable over lines and grid.
        let y = top + 3 + row as i32 * row_h;
        root.draw(&Rectangle::new(
            [(start - 2, y - 1), (end + 2, y + row_h - 2)],
            WHITE.mix(0.85).filled(),
        ))?;
        let anchor = if right_side { HPos::Left } else { HPos::Right };
        root.draw(&Text::new(
            label.clone(),
            (if right_side { px + 4 } else { px - 4 }, y),
            (style::FONT, font_size(style::MARKER_PX))
                .into_font()
                .color(&style::MARKER)
                .pos(Pos::new(anchor, VPos::Top)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str) -> Series {
        Series {
            label: label.into(),
            color: style::CS,
            segments: vec![vec![(0.0, 1.0), (1.0, 2.0)]],
            dashed: false,
            points: false,
        }
    }

    #[test]
    fn legend_wraps_when_full() {
        let many: Vec<Series> = (0..12)
            .map(|i| series(&format!("p2p ({i} users)")))
            .collect();
        let (slots, rows) = legend_layout(&many, 600);
        assert!(rows > 1);
        assert!(slots.iter().all(|(_, x)| *x < 600));
        assert_eq!(legend_layout(&[], 600).1, 0);
    }
}

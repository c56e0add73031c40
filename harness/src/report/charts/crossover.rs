//! The crossover heatmap: the claim suite's grid of flash crowds, N across and
//! u_s / u_i down, each cell coloured by the measured makespan ratio CS / P2P (vermillion
//! where P2P was faster, blue where CS was, white at a tie) and labelled with it; a
//! dashed black step line marks where the analytical bounds cross, an outline the
//! smallest N at which P2P was measured faster in each row.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, font_size};
use crate::report::model::CrossoverMap;

/// Left of the grid: room for the row labels and the axis title.
const LEFT: i32 = 120;
/// Right of the grid.
const RIGHT: i32 = 40;
/// Below the grid: column labels, axis title, key.
const BOTTOM: i32 = 84;
/// The ratio at which a cell's colour is at full strength (and beyond).
const FULL: f64 = 8.0;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// The colour of a ratio: white at 1, towards vermillion above, towards blue below, by
/// the logarithm of the ratio (8× and beyond at full strength).
fn cell_color(ratio: f64) -> RGBColor {
    let strength = (ratio.ln().abs() / FULL.ln()).clamp(0.0, 1.0) * 0.85;
    let target = if ratio >= 1.0 { style::P2P } else { style::CS };
    let mix = |c: u8| (255.0 + (f64::from(c) - 255.0) * strength).round() as u8;
    RGBColor(mix(target.0), mix(target.1), mix(target.2))
}

/// The heatmap of `map`, or `None` when it has fewer than two sizes or two ratios.
pub(super) fn heatmap(map: &CrossoverMap) -> Option<String> {
    let mut sizes: Vec<u32> = map.cells.iter().map(|c| c.users).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut ratios: Vec<f64> = map.cells.iter().map(|c| c.upload_ratio).collect();
    ratios.sort_by(f64::total_cmp);
    ratios.dedup();
    if sizes.len() < 2 || ratios.len() < 2 {
        return None;
    }
    let mut svg = String::new();
    draw(map, &sizes, &ratios, &mut svg).ok()?;
    Some(svg)
}

fn draw(map: &CrossoverMap, sizes: &[u32], ratios: &[f64], svg: &mut String) -> DrawResult {
    let (w, h) = (style::WIDTH as i32, style::HEIGHT as i32);
    let root = SVGBackend::with_string(svg, (w as u32, h as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let font = |px: f64| (style::FONT, font_size(px)).into_font();
    let left_top = Pos::new(HPos::Left, VPos::Top);
    root.draw(&Text::new(
        "Crossover map: flash-crowd makespan, CS / P2P",
        (style::MARGIN, style::MARGIN),
        font(style::TITLE_PX).color(&style::INK).pos(left_top),
    ))?;
    root.draw(&Text::new(
        "Above 1 (vermillion) P2P finished first; below 1 (blue) CS did. Medians over repetitions.",
        (style::MARGIN, style::MARGIN + 24),
        font(style::SUBTITLE_PX).color(&style::MUTED).pos(left_top),
    ))?;
    let top = style::MARGIN + style::TITLE_HEIGHT + 8;
    let (gx0, gx1, gy0, gy1) = (LEFT, w - RIGHT, top, h - BOTTOM);
    let cw = (gx1 - gx0) / sizes.len() as i32;
    let ch = (gy1 - gy0) / ratios.len() as i32;
    let col = |n: u32| sizes.iter().position(|s| *s == n).unwrap_or(0) as i32;
    // Largest u_s / u_i on top: the peers' upload shrinks going up.
    let row = |r: f64| (ratios.len() - 1 - ratios.iter().position(|x| *x == r).unwrap_or(0)) as i32;
    let centre = Pos::new(HPos::Center, VPos::Center);
    for c in &map.cells {
        let (x, y) = (gx0 + col(c.users) * cw, gy0 + row(c.upload_ratio) * ch);
        root.draw(&Rectangle::new(
            [(x, y), (x + cw, y + ch)],
            cell_color(c.measured).filled(),
        ))?;
        root.draw(&Rectangle::new(
            [(x, y), (x + cw, y + ch)],
            WHITE.stroke_width(2),
        ))?;
        root.draw(&Text::new(
            format!("{:.2}×", c.measured),
            (x + cw / 2, y + ch / 2 - 8),
            font(style::LEGEND_PX).color(&style::INK).pos(centre),
        ))?;
        root.draw(&Text::new(
            format!("bound {:.2}×", c.bound),
            (x + cw / 2, y + ch / 2 + 10),
            font(style::MARKER_PX).color(&style::MUTED).pos(centre),
        ))?;
    }
    for (i, n) in sizes.iter().enumerate() {
        root.draw(&Text::new(
            format!("N = {n}"),
            (gx0 + i as i32 * cw + cw / 2, gy1 + 14),
            font(style::TICK_PX).color(&style::INK).pos(centre),
        ))?;
    }
    for r in ratios {
        root.draw(&Text::new(
            format!("u_s/u_i = {r}"),
            (gx0 - 10, gy0 + row(*r) * ch + ch / 2),
            font(style::TICK_PX)
                .color(&style::INK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    draw_crossovers(map, &root, (gx0, gy0, cw, ch), &col, &row)?;
    root.draw(&Text::new(
        "users N (every user's download capped)   ·   dashed: where the bounds cross   ·   outlined: smallest N at which P2P was measured faster",
        (style::MARGIN, h - 30),
        font(style::MARKER_PX).color(&style::MUTED).pos(left_top),
    ))?;
    root.present()?;
    Ok(())
}

/// The bounds' crossover as a step line left of the first column where the bound ratio
/// exceeds 1 in each row, and an outline around the first cell measured above 1.
fn draw_crossovers(
    map: &CrossoverMap,
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    (gx0, gy0, cw, ch): (i32, i32, i32, i32),
    col: &dyn Fn(u32) -> i32,
    row: &dyn Fn(f64) -> i32,
) -> DrawResult {
    let line = BLACK.stroke_width(3);
    let mut steps: Vec<(i32, i32)> = Vec::new();
    let mut rows: Vec<_> = map.crossover.iter().collect();
    rows.sort_by_key(|c| row(c.upload_ratio));
    for c in rows {
        let y = gy0 + row(c.upload_ratio) * ch;
        if let Some(n) = c.bound_n {
            let x = gx0 + col(n) * cw;
            steps.push((x, y));
            steps.push((x, y + ch));
        }
        if let Some(n) = c.measured_n {
            let x = gx0 + col(n) * cw;
            root.draw(&Rectangle::new(
                [(x + 4, y + 4), (x + cw - 4, y + ch - 4)],
                BLACK.stroke_width(2),
            ))?;
        }
    }
    for pair in steps.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // Dashes: 8 px on, 6 px off, along vertical and horizontal runs.
        let len = ((b.0 - a.0).abs() + (b.1 - a.1).abs()).max(1);
        let mut t = 0;
        while t < len {
            let e = (t + 8).min(len);
            let at = |s: i32| (a.0 + (b.0 - a.0) * s / len, a.1 + (b.1 - a.1) * s / len);
            root.draw(&PathElement::new(vec![at(t), at(e)], line))?;
            t += 14;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Crossover, CrossoverCell};

    #[test]
    fn colours_diverge_around_a_tie() {
        assert_eq!(cell_color(1.0), RGBColor(255, 255, 255));
        let p2p = cell_color(8.0);
        let cs = cell_color(1.0 / 8.0);
        assert!(p2p.0 > p2p.2, "vermillion when P2P is faster: {p2p:?}");
        assert!(cs.2 > cs.0, "blue when CS is faster: {cs:?}");
    }

    #[test]
    fn a_grid_draws_cells_and_the_crossover() {
        let mut cells = Vec::new();
        for (i, n) in [2, 4, 8, 16].into_iter().enumerate() {
            for r in [1.0, 2.0, 4.0, 8.0] {
                cells.push(CrossoverCell {
                    users: n,
                    upload_ratio: r,
                    measured: 0.5 * (i + 1) as f64,
                    bound: (i + 1) as f64,
                });
            }
        }
        let crossover = [1.0, 2.0, 4.0, 8.0]
            .map(|r| Crossover {
                upload_ratio: r,
                measured_n: Some(8),
                bound_n: Some(4),
            })
            .to_vec();
        let svg = heatmap(&CrossoverMap { cells, crossover }).expect("a chart");
        assert!(svg.contains("Crossover map"));
        assert!(svg.contains("N = 16") && svg.contains("u_s/u_i = 8"));
        assert!(svg.contains("0.50×") && svg.contains("2.00×"));
        assert!(heatmap(&CrossoverMap {
            cells: Vec::new(),
            crossover: Vec::new()
        })
        .is_none());
    }
}

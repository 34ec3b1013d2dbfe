//! A grid of small grey-level images, each with a caption: the samples a net
//! was least sure of (`netc predict --images`). Written as SVG by hand: one
//! `<rect>` a pixel that is not background is all it needs.

use std::fmt::Write as _;

/// One image of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    /// Row-major values, any range: each image is shown from its own
    /// smallest value (white) to its largest (black).
    pub pixels: Vec<f32>,
    /// Up to two lines under the image.
    pub caption: [String; 2],
}

/// Screen pixels per image pixel, at most: images are scaled to about
/// [`TILE`] screen pixels across.
const TILE: f64 = 84.0;
/// Space under each image for its caption, and around it.
const CAPTION: f64 = 30.0;
const GAP: f64 = 10.0;
const COLUMNS: usize = 8;

/// The SVG text of `tiles`, each `rows`×`cols` pixels, under `title`.
pub fn image_grid(title: &str, tiles: &[Tile], rows: usize, cols: usize) -> String {
    let scale = (TILE / rows.max(cols).max(1) as f64).max(1.0);
    let (w, h) = (cols as f64 * scale, rows as f64 * scale);
    let columns = COLUMNS.min(tiles.len()).max(1);
    let lines = tiles.len().div_ceil(columns);
    let width = GAP + columns as f64 * (w + GAP);
    let height = 40.0 + lines as f64 * (h + CAPTION + GAP);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{GAP}\" y=\"24\" font-size=\"16\">{}</text>\n",
        escape(title)
    );
    for (i, tile) in tiles.iter().enumerate() {
        let x0 = GAP + (i % columns) as f64 * (w + GAP);
        let y0 = 40.0 + (i / columns) as f64 * (h + CAPTION + GAP);
        let _ = writeln!(
            s,
            "<g transform=\"translate({x0},{y0})\">\
             <rect width=\"{w}\" height=\"{h}\" fill=\"white\" stroke=\"#999\"/>"
        );
        let lo = tile.pixels.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = tile
            .pixels
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        for (p, &v) in tile.pixels.iter().enumerate().take(rows * cols) {
            let ink = ((v - lo) / span).clamp(0.0, 1.0);
            let grey = (255.0 * (1.0 - ink)).round() as u8;
            if grey == 255 {
                continue;
            }
            let (r, c) = (p / cols, p % cols);
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{scale}\" height=\"{scale}\" fill=\"#{grey:02x}{grey:02x}{grey:02x}\"/>",
                c as f64 * scale,
                r as f64 * scale
            );
        }
        for (l, line) in tile.caption.iter().enumerate() {
            let _ = write!(
                s,
                "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>",
                h + 12.0 + 13.0 * l as f64,
                escape(line)
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

/// Text made safe inside an SVG element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tile_draws_its_ink_and_caption() {
        let tile = |pixels: Vec<f32>, c: &str| Tile {
            pixels,
            caption: [c.to_string(), "H 0.69".to_string()],
        };
        let svg = image_grid(
            "a <b> & c",
            &[
                tile(vec![0.0, 1.0, 0.5, 0.0], "7 (label 1)"),
                tile(vec![0.0; 4], "3"),
            ],
            2,
            2,
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(texts, ["a <b> & c", "7 (label 1)", "H 0.69", "3", "H 0.69"]);
        // The first image has two inked pixels (black and mid grey); a blank
        // one has none. Two frames, one background.
        let fills: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter_map(|n| n.attribute("fill"))
            .collect();
        assert_eq!(fills, ["white", "white", "#000000", "#808080", "white"]);
    }
}

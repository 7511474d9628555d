//! The picture `csa status` prints: the counts line, the queues table, the sessions table.
//! Plain text; colour only when asked (a terminal without `NO_COLOR`).

use std::fmt::Write as _;
use std::time::SystemTime;

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use super::cells::{self, Cells, HEADERS, QUEUE_HEADERS};
use super::rows::Line;
use crate::fleet::Fleet;
use crate::fleet::output::Spools;
use crate::term::{self, Colour};

/// How the picture is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colour the states (ANSI SGR) and draw the use bars with block characters.
    pub colour: bool,
    /// The terminal's width in columns: the last column is cut to fit.
    pub width: Option<usize>,
    /// The terminal's height in rows: the sessions table is cut to fit.
    pub height: Option<usize>,
}

/// The widest NAME/COMMAND cell, in columns.
const NAME_WIDTH: usize = 48;

/// The picture of `fleet` at `now`, with a row for each of `lines`, then `footer` (when not
/// empty).
pub fn picture(
    fleet: &Fleet,
    lines: &[Line],
    spools: &mut Spools,
    now: SystemTime,
    style: Style,
    footer: &str,
) -> String {
    let mut text = cells::counts_line(&fleet.counts());
    text.push('\n');
    let queues = fleet.queues(now);
    if !queues.is_empty() {
        text.push('\n');
        let rows: Vec<Vec<String>> = queues
            .iter()
            .map(|queue| {
                let mut row = cells::queue_cells(queue).to_vec();
                row.push(cells::use_cell(queue, style.colour));
                row
            })
            .collect();
        table(
            &mut text,
            &QUEUE_HEADERS,
            &rows,
            (&[], &[1, 2, 3, 4, 5, 6, 7]),
            style,
            |_| None,
        );
    }
    text.push('\n');
    if lines.is_empty() {
        text.push_str("No session is running.\n");
    } else {
        // Rows that fit: the lines above, the header, the footer.
        let used = text.lines().count() + 2;
        let room = style
            .height
            .map_or(lines.len(), |h| h.saturating_sub(used).max(1));
        let shown = &lines[..lines.len().min(room)];
        let rows: Vec<Cells> = shown
            .iter()
            .map(|line| cells::cells(fleet, line, spools, now))
            .collect();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|c| {
                vec![
                    c.handle.clone(),
                    c.name.clone(),
                    c.queue.clone(),
                    c.state_name().to_owned(),
                    c.waited.clone(),
                    c.ran.clone(),
                    c.quiet.clone(),
                    c.detail.clone(),
                ]
            })
            .collect();
        let colour_of = |row: usize| {
            style
                .colour
                .then(|| crate::cmd::list::status_colour(rows[row].state))
        };
        table(
            &mut text,
            &HEADERS,
            &cells,
            (&[1], &[4, 5, 6]),
            style,
            colour_of,
        );
        if shown.len() < lines.len() {
            let _ = writeln!(text, "… and {} more", lines.len() - shown.len());
        }
    }
    if !footer.is_empty() {
        text.push_str(footer);
        text.push('\n');
    }
    text
}

/// Writes a table: `headers`, then `rows`, columns separated by two spaces; the columns in
/// `capped` at most [`NAME_WIDTH`] wide, those in `right` aligned right, the last one cut
/// to the width left; the state column (4th) coloured by `colour_of(row)`.
fn table(
    text: &mut String,
    headers: &[&str],
    rows: &[Vec<String>],
    (capped, right): (&[usize], &[usize]),
    style: Style,
    colour_of: impl Fn(usize) -> Option<Colour>,
) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    for &column in capped {
        widths[column] = widths[column].min(NAME_WIDTH).max(headers[column].width());
    }
    let last = headers.len() - 1;
    let fixed: usize = widths[..last].iter().map(|w| w + 2).sum();
    let last_width = style
        .width
        .map(|w| w.saturating_sub(fixed).max(headers[last].width()));
    let mut write_row = |cells: &[String], colour: Option<Colour>| {
        let mut line = String::new();
        for (column, cell) in cells.iter().enumerate() {
            if column == last {
                line.push_str(&fit(cell, last_width));
                break;
            }
            let cell = fit(cell, Some(widths[column]));
            let pad = " ".repeat(widths[column] - cell.width());
            let padded = if right.contains(&column) {
                format!("{pad}{cell}")
            } else {
                format!("{cell}{pad}")
            };
            match colour.filter(|_| column == 3) {
                Some(colour) => line.push_str(&term::paint(&padded, colour, true)),
                None => line.push_str(&padded),
            }
            line.push_str("  ");
        }
        text.push_str(line.trim_end());
        text.push('\n');
    };
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    write_row(&headers, None);
    for (at, row) in rows.iter().enumerate() {
        write_row(row, colour_of(at));
    }
}

/// `text` on one line, cut to `width` columns with `…` when longer.
fn fit(text: &str, width: Option<usize>) -> String {
    let text = term::one_line(text, None);
    let Some(width) = width.filter(|&w| text.width() > w) else {
        return text.into_owned();
    };
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        cut.push(c);
        used += w;
    }
    cut.push('…');
    cut
}

/// A bar of 10 cells filled to `share` (0.0 to 1.0), then the percentage: block characters
/// on a terminal, `#` and `.` otherwise.
pub fn use_bar(share: f64, blocks: bool) -> String {
    let share = share.clamp(0.0, 1.0);
    // At most 10: the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let filled = (share * 10.0).round() as usize;
    let (full, empty) = if blocks { ('█', '░') } else { ('#', '.') };
    let mut bar: String = std::iter::repeat_n(full, filled).collect();
    bar.extend(std::iter::repeat_n(empty, 10 - filled));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let percent = (share * 100.0).round() as u32;
    format!("{bar} {percent}%")
}

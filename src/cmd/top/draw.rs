//! Drawing the view with ratatui: the counts line, the queues, the sessions table (only the
//! rows on screen are built), the pane, and the message or prompt line; the help on top.
//! Reads the state; the only thing it sets is how many rows the table has room for.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table};
use unicode_width::UnicodeWidthStr as _;

use super::input::HELP;
use super::state::{Ask, Mode, View};
use crate::cmd::status::cells::{self, HEADERS, QUEUE_HEADERS};
use crate::fleet::Fleet;
use crate::fleet::output::Spools;
use crate::store::record::State;
use crate::term::Colour;

/// The widest NAME/COMMAND column, in columns.
const NAME_WIDTH: usize = 48;

/// The narrowest NAME/COMMAND column when the terminal is narrow, in columns.
const NAME_WIDTH_MIN: usize = 12;

/// The room the USE column keeps at least on a narrow terminal, in columns: `paused` and
/// some of the bar.
const USE_WIDTH_MIN: usize = 10;

/// The widest QUEUE column of the queues table, in columns.
const QUEUE_WIDTH: usize = 24;

/// Draws the whole view at `now`. `colour`: use colours (no `NO_COLOR`).
pub fn draw(
    frame: &mut Frame<'_>,
    fleet: &Fleet,
    view: &mut View,
    spools: &mut Spools,
    (now, colour): (SystemTime, bool),
) {
    let queues = fleet.queues(now);
    let area = frame.area();
    let queue_rows = if queues.is_empty() {
        0
    } else {
        u16::try_from(queues.len() + 1)
            .unwrap_or(u16::MAX)
            .min(area.height / 3)
    };
    let pane = if view.follow.is_some() {
        area.height * 2 / 5
    } else {
        0
    };
    let [top, queue_area, table_area, pane_area, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(queue_rows),
        Constraint::Min(2),
        Constraint::Length(pane),
        Constraint::Length(1),
    ])
    .areas(area);
    // The counts, after the title when both fit: on a narrow terminal the title goes, not
    // the last counts (`lost`).
    let counts = cells::counts_line(&fleet.counts());
    let title = " csa top ";
    let header = if title.width() + 2 + counts.width() <= usize::from(area.width) {
        Line::from(vec![
            Span::styled(title, Style::new().add_modifier(Modifier::REVERSED)),
            Span::raw(format!("  {counts}")),
        ])
    } else {
        Line::raw(counts)
    };
    frame.render_widget(Paragraph::new(header), top);
    if queue_rows > 0 {
        draw_queues(frame, &queues, queue_area, colour);
    }
    view.height = usize::from(table_area.height.saturating_sub(1));
    view.scroll();
    draw_sessions(frame, fleet, view, spools, (now, colour), table_area);
    if view.follow.is_some() {
        draw_pane(frame, fleet, view, pane_area);
    }
    draw_bottom(frame, view, bottom);
    if view.mode == Mode::Help {
        draw_help(frame, area);
    }
}

fn draw_queues(
    frame: &mut Frame<'_>,
    queues: &[crate::fleet::QueueFigures],
    area: Rect,
    colour: bool,
) {
    let texts: Vec<[String; 8]> = queues.iter().map(cells::queue_cells).collect();
    // Each figure's column as wide as its header or widest cell; the name gets what the
    // figures leave (at most QUEUE_WIDTH), the bar the rest. On a narrow terminal the
    // columns move closer and the name is cut, but the figures and headers stay whole.
    let width = |at: usize| {
        let widest = texts.iter().map(|t| t[at].width()).max().unwrap_or(0);
        widest.max(QUEUE_HEADERS[at].width())
    };
    let figures: usize = (1..8).map(width).sum();
    let name = width(0).min(QUEUE_WIDTH);
    let room = |spacing: usize| usize::from(area.width).saturating_sub(figures + 8 * spacing);
    let spacing: u16 = if room(2) >= name + USE_WIDTH_MIN {
        2
    } else {
        1
    };
    let name = name
        .min(room(usize::from(spacing)).saturating_sub(USE_WIDTH_MIN))
        .max(QUEUE_HEADERS[0].width());
    let mut widths: Vec<Constraint> = std::iter::once(name)
        .chain((1..8).map(width))
        .map(|w| Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX)))
        .collect();
    widths.push(Constraint::Fill(1));
    let rows: Vec<Row<'_>> = queues
        .iter()
        .zip(texts)
        .map(|(queue, texts)| {
            // The name, then numbers aligned right.
            let mut cells: Vec<Cell<'_>> = texts
                .into_iter()
                .enumerate()
                .map(|(at, text)| match at {
                    0 => Cell::from(crate::term::one_line(&text, Some(name)).into_owned()),
                    _ => Cell::from(Line::from(text).right_aligned()),
                })
                .collect();
            let bar = cells::use_cell(queue, true);
            let style = if colour && queue.utilisation() >= 1.0 {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            cells.push(Cell::from(Span::styled(bar, style)));
            Row::new(cells)
        })
        .collect();
    let header = Row::new(QUEUE_HEADERS.iter().enumerate().map(|(at, text)| match at {
        0 | 8 => Cell::from(*text),
        _ => Cell::from(Line::from(*text).right_aligned()),
    }))
    .style(Style::new().add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(spacing),
        area,
    );
}

fn draw_sessions(
    frame: &mut Frame<'_>,
    fleet: &Fleet,
    view: &View,
    spools: &mut Spools,
    (now, colour): (SystemTime, bool),
    area: Rect,
) {
    let end = view.lines.len().min(view.offset + view.height);
    let shown = &view.lines[view.offset.min(end)..end];
    let cells: Vec<cells::Cells> = shown
        .iter()
        .map(|line| cells::cells(fleet, line, spools, now))
        .collect();
    let width = |pick: fn(&cells::Cells) -> &str, header: &str, cap: usize| {
        let widest = cells.iter().map(|c| pick(c).width()).max().unwrap_or(0);
        u16::try_from(widest.max(header.width()).min(cap)).unwrap_or(u16::MAX)
    };
    let handle = width(|c| &c.handle, HEADERS[0], 26);
    let queue = width(|c| &c.queue, HEADERS[2], 16);
    // The name has at most half of what the fixed columns and the spacing between the
    // eight leave, LAST OUTPUT the rest: on a narrow terminal the output stays in sight.
    let fixed = usize::from(handle) + usize::from(queue) + 7 + 6 * 3 + 2 * 7;
    let name_cap =
        (usize::from(area.width).saturating_sub(fixed) / 2).clamp(NAME_WIDTH_MIN, NAME_WIDTH);
    let name_width = width(|c| &c.name, HEADERS[1], name_cap);
    let widths = [
        Constraint::Length(handle),
        Constraint::Length(name_width),
        Constraint::Length(queue),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Fill(1),
    ];
    let rows: Vec<Row<'_>> = cells
        .into_iter()
        .enumerate()
        .map(|(at, c)| {
            let state_name = c.state_name();
            let state_style = if colour {
                Style::new().fg(colour_of(c.state))
            } else {
                Style::new()
            };
            let quiet_style = if c.hushed && colour {
                Style::new().fg(Color::Yellow)
            } else if c.hushed {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            let row = Row::new(vec![
                Cell::from(c.handle),
                Cell::from(
                    crate::term::one_line(&c.name, Some(usize::from(name_width))).into_owned(),
                ),
                Cell::from(c.queue),
                Cell::from(Span::styled(state_name, state_style)),
                Cell::from(Line::from(c.waited).right_aligned()),
                Cell::from(Line::from(c.ran).right_aligned()),
                Cell::from(Line::from(Span::styled(c.quiet, quiet_style)).right_aligned()),
                Cell::from(c.detail),
            ]);
            if view.offset + at == view.cursor {
                row.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(HEADERS).style(Style::new().add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(2),
        area,
    );
    if view.lines.is_empty() {
        let text = if view.filter_text.is_empty() {
            "No session yet: `csa run …` starts one.".to_owned()
        } else {
            format!("No session matches the filter `{}`.", view.filter_text)
        };
        let below = Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1),
            ..area
        };
        frame.render_widget(Paragraph::new(text), below);
    }
}

fn draw_pane(frame: &mut Frame<'_>, fleet: &Fleet, view: &View, area: Rect) {
    let Some(follow) = &view.follow else {
        return;
    };
    let (handle, state) = fleet.find(follow.id()).map_or_else(
        || (follow.id().to_string(), "removed"),
        |at| {
            let session = &fleet.sessions()[at];
            (session.handle.clone(), session.state.as_str())
        },
    );
    let title = format!(
        " {} of {handle} ({state}) · Tab: {} · Enter/Esc: close ",
        follow.stream.file(),
        match follow.stream {
            super::follow::Stream::Stdout => "stderr",
            super::follow::Stream::Stderr => "stdout",
        }
    );
    let block = Block::bordered().title(title);
    let inner = usize::from(block.inner(area).height);
    let from = follow.lines.len().saturating_sub(inner);
    let text: Vec<Line<'_>> = follow.lines[from..]
        .iter()
        .map(|line| Line::raw(line.as_str()))
        .collect();
    frame.render_widget(Paragraph::new(text).block(block), area);
}

fn draw_bottom(frame: &mut Frame<'_>, view: &View, area: Rect) {
    let line = match &view.mode {
        Mode::Prompt(ask, text) => {
            let label = match ask {
                Ask::Filter(_) => "filter (words, tag:T, queue:Q, status:S): ".to_owned(),
                Ask::KillTag => "kill the sessions with the tag: ".to_owned(),
                Ask::Slots(queue) => format!("slots of queue {queue}: "),
            };
            let x = area.x + u16::try_from((label.clone() + text).width()).unwrap_or(0);
            frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
            Line::from(vec![
                Span::styled(label, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(text.clone()),
            ])
        }
        Mode::Confirm(question, _) => Line::from(Span::styled(
            question.clone(),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )),
        Mode::Normal | Mode::Help => {
            if let Some(message) = &view.message {
                Line::raw(message.clone())
            } else {
                let mut keys = String::from(
                    "q quit  ? help  / filter  Enter follow  k kill  K kill tag  s slots  t tree",
                );
                if !view.filter_text.is_empty() {
                    keys = format!("filter: {}  (Esc clears)  {keys}", view.filter_text);
                }
                Line::from(Span::styled(keys, Style::new().add_modifier(Modifier::DIM)))
            }
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let keys_width = HELP.iter().map(|(keys, _)| keys.width()).max().unwrap_or(0);
    let lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {keys:<keys_width$}  "),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    let width = u16::try_from(
        HELP.iter().map(|(_, what)| what.width()).max().unwrap_or(0) + keys_width + 5,
    )
    .unwrap_or(u16::MAX)
    .min(area.width);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys · any key closes ")),
        popup,
    );
}

/// The colour of a state, as `csa session list` colours it.
fn colour_of(state: State) -> Color {
    match crate::cmd::list::status_colour(state) {
        Colour::Red => Color::Red,
        Colour::Green => Color::Green,
        Colour::Yellow => Color::Yellow,
        Colour::Magenta => Color::Magenta,
        Colour::Cyan => Color::Cyan,
        Colour::Dim => Color::DarkGray,
    }
}

//! The two tables: the diff (filters, key search, changed cells as old → new) and the enriched
//! table (sortable). Both build only the rows on screen (`TableBuilder::body.rows`), and format
//! only their cells, so a million rows scroll like a hundred.

use arrow_array::ArrayRef;
use egui::{Align, Color32, Layout, RichText};
use egui_extras::{Column, TableBuilder};
use tidemark_core::diff::ChangeKind;

use crate::app::{Action, TidemarkApp, count, plural};
use crate::cells::Cells;
use crate::review::{
    ColumnFilter, DiffFilter, DiffSort, DiffSortBy, FilterOp, Review, Timeline, TimelineVersion,
    VersionState, describe, side_label, side_meaning,
};
use crate::session::short_name;
use tidemark_core::review::{Filter, Side};

/// Every row has the same height: that is what lets the table skip the rows off screen.
pub const ROW_HEIGHT: f32 = 20.0;

/// Colours that read on both the dark and the light theme.
struct Palette {
    inserted: Color32,
    updated: Color32,
    deleted: Color32,
    changed_cell: Color32,
}

impl Palette {
    fn of(ui: &egui::Ui) -> Palette {
        if ui.visuals().dark_mode {
            Palette {
                inserted: Color32::from_rgb(0x7c, 0xd3, 0x84),
                updated: Color32::from_rgb(0xf0, 0xc0, 0x5a),
                deleted: Color32::from_rgb(0xff, 0x80, 0x80),
                changed_cell: Color32::from_rgb(0x5a, 0x47, 0x10),
            }
        } else {
            Palette {
                inserted: Color32::from_rgb(0x1a, 0x7f, 0x37),
                updated: Color32::from_rgb(0x9a, 0x67, 0x00),
                deleted: Color32::from_rgb(0xcf, 0x22, 0x2e),
                changed_cell: Color32::from_rgb(0xff, 0xe8, 0xa3),
            }
        }
    }

    fn kind(&self, kind: ChangeKind) -> Option<Color32> {
        match kind {
            ChangeKind::Inserted => Some(self.inserted),
            ChangeKind::Updated => Some(self.updated),
            ChangeKind::Deleted => Some(self.deleted),
            ChangeKind::Unchanged | ChangeKind::InsertedAndDeleted => None,
        }
    }
}

fn formatter(column: &ArrayRef) -> Option<Cells<'_>> {
    Cells::new(column)
}

/// A value in a cell, as [`Cells::shown`] reads it (clipped to its column, which the user can
/// widen); the full value (every digit of a rate, the rest of a long text) on hover.
fn value_label(ui: &mut egui::Ui, cells: &Cells, row: usize) -> egui::Response {
    ui.label(cells.shown(row)).on_hover_ui(|ui| {
        ui.label(cells.full(row));
    })
}

pub fn diff_view(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    app.refresh_diff_rows();
    let Some(shown) = &app.shown else {
        return;
    };
    let review = &shown.review;
    let kind_counts = |filter: DiffFilter| -> usize {
        let Some(facets) = &app.facets else {
            return review.count(filter);
        };
        facets
            .kinds
            .iter()
            .filter(|c| filter.kind().is_none_or(|k| k == c.value))
            .map(|c| c.count)
            .sum()
    };
    // Wrapped: in a narrow window the count goes to the next line instead of over the widgets.
    ui.horizontal_wrapped(|ui| {
        for filter in DiffFilter::EVERY {
            let label = format!("{} ({})", filter.label(), count(kind_counts(filter)));
            if ui
                .selectable_label(app.diff_filter == filter, label)
                .on_hover_text(filter.meaning())
                .clicked()
            {
                actions.push(Action::FilterDiff(filter));
            }
        }
        ui.separator();
        let label = ui.label("Find key");
        ui.add(
            egui::TextEdit::singleline(&mut app.key_query)
                .hint_text("exact key, e.g. 9")
                .desired_width(140.0),
        )
        .labelled_by(label.id);
        ui.checkbox(&mut app.key_prefix, "Starts with")
            .on_hover_text("Find keys that start with what is typed: 13 finds 13, 130, 1375");
        if !app.key_query.is_empty() && ui.small_button("✖").on_hover_text("Clear").clicked() {
            app.key_query.clear();
        }
        ui.separator();
        ui.weak(format!(
            "{} of {}",
            count(app.diff_rows.len()),
            plural(review.count(DiffFilter::All), "key")
        ));
    });
    filter_bar(&mut app.column_filter, &app.filters, review, ui, actions);
    facet_bar(app, ui, actions);
    ui.add_space(4.0);
    if let Some(error) = &app.query_error {
        ui.colored_label(ui.visuals().error_fg_color, error);
        return;
    }
    if app.diff_rows.is_empty() {
        let what = match (app.diff_filter, app.key_query.trim()) {
            _ if !app.filters.is_empty() => "No key matches the filters.".to_string(),
            (filter, "") if filter != DiffFilter::All => {
                format!("No {} keys.", filter.label().to_lowercase())
            }
            (_, "") => "The changes touched no key.".to_string(),
            (_, key) => format!("No change to the key {key} here."),
        };
        ui.weak(what);
        return;
    }
    // A key's timeline below the diff, once a key was clicked (the diff keeps the rest).
    if app.timeline_row.is_some() {
        egui::Panel::bottom("key_timeline")
            .resizable(true)
            .default_size(220.0)
            .show(ui, |ui| {
                timeline_view(app.timeline.as_ref(), app.timeline_pending(), ui, actions)
            });
    }
    let scroll_to = app.scroll_to.take();
    let sort = Sorted {
        shown: app.diff_sort.as_ref(),
        pending: app.diff_sorting(),
    };
    // Wide tables scroll sideways; each keeps its own vertical scrolling.
    solid_scroll_bars(ui);
    egui::ScrollArea::horizontal()
        .id_salt("diff_sideways")
        .show(ui, |ui| {
            diff_table(review, &app.diff_rows, scroll_to, sort, ui, actions)
        });
}

/// The column filters: a column the diff shows, how to compare, the value(s), then the
/// filters in force as chips that take themselves off.
fn filter_bar(
    draft: &mut ColumnFilter,
    filters: &[Filter],
    review: &Review,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.horizontal_wrapped(|ui| {
        if draft.column.is_empty() {
            draft.column = review.value_columns.first().cloned().unwrap_or_default();
        }
        let label = ui.label("Filter column");
        egui::ComboBox::from_id_salt("filter_column")
            .selected_text(draft.column.as_str())
            .show_ui(ui, |ui| {
                for column in review.key_columns.iter().chain(&review.value_columns) {
                    ui.selectable_value(&mut draft.column, column.clone(), column.as_str());
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("The column to filter on");
        // A key column has one value; a compared column, one before and one after the run.
        if review.key_columns.contains(&draft.column) {
            draft.side = Side::Shown;
        } else {
            let label = ui.weak("which");
            egui::ComboBox::from_id_salt("filter_side")
                .selected_text(side_label(draft.side))
                .show_ui(ui, |ui| {
                    for side in [Side::Shown, Side::Before, Side::After] {
                        ui.selectable_value(&mut draft.side, side, side_label(side))
                            .on_hover_text(side_meaning(side));
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text("Filter on the value before the run, after it, or as shown");
        }
        let label = ui.weak("how");
        egui::ComboBox::from_id_salt("filter_op")
            .selected_text(draft.op.label())
            .show_ui(ui, |ui| {
                for op in FilterOp::EVERY {
                    ui.selectable_value(&mut draft.op, op, op.label());
                }
            })
            .response
            .labelled_by(label.id);
        let hint = match draft.op {
            FilterOp::Range => "from (e.g. 2021-10-01)",
            _ => "value",
        };
        let label = ui.label("Filter value");
        let value = ui
            .add(
                egui::TextEdit::singleline(&mut draft.text)
                    .hint_text(hint)
                    .desired_width(120.0),
            )
            .labelled_by(label.id);
        let mut entered = value.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if draft.op == FilterOp::Range {
            let label = ui.label("to");
            let max = ui
                .add(
                    egui::TextEdit::singleline(&mut draft.max)
                        .hint_text("to")
                        .desired_width(120.0),
                )
                .labelled_by(label.id);
            entered |= max.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        }
        let ready = draft.to_filter().is_some();
        if ui
            .add_enabled(ready, egui::Button::new("Add filter"))
            .clicked()
            || (entered && ready)
        {
            actions.push(Action::AddColumnFilter);
        }
        for (at, filter) in filters.iter().enumerate() {
            let chip = ui
                .button(format!("{} ✖", describe(filter)))
                .on_hover_text("Remove this filter");
            if chip.clicked() {
                actions.push(Action::RemoveFilter(at));
            }
        }
    });
}

/// The facets of the diff under the other filters: the files keys' last changes came from
/// and the columns updates changed, each with its count; a click filters by it.
fn facet_bar(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(facets) = &app.facets else {
        return;
    };
    let mut chip = |ui: &mut egui::Ui, filter: Filter, label: String, n: usize| {
        let on = app.filters.contains(&filter);
        if ui
            .selectable_label(on, format!("{label} ({})", count(n)))
            .clicked()
        {
            actions.push(Action::ToggleFacet(filter));
        }
    };
    ui.horizontal_wrapped(|ui| {
        ui.weak("Changed:");
        for c in facets.changed.iter().filter(|c| c.count > 0) {
            let filter = Filter::Changed {
                column: c.value.clone(),
            };
            chip(ui, filter, c.value.clone(), c.count);
        }
        ui.separator();
        ui.weak("From:");
        for f in &facets.files {
            let filter = Filter::SourceFile {
                file: f.value.clone(),
            };
            chip(ui, filter, short_name(&f.value).to_string(), f.count);
        }
    });
}

/// Every version of one key, oldest first: when it was valid, whether it is current or was
/// deleted, the change that opened it, and its values, the ones it changed highlighted.
fn timeline_view(
    timeline: Option<&Timeline>,
    pending: bool,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        if ui.small_button("✖ Close").clicked() {
            actions.push(Action::CloseTimeline);
        }
        match timeline {
            Some(t) => {
                ui.strong(format!(
                    "History of key {}: {}",
                    t.key,
                    plural(t.versions.len(), "version")
                ));
            }
            None => {
                ui.strong("History of the key");
            }
        }
        if pending {
            ui.spinner();
        }
    });
    let Some(timeline) = timeline else {
        return;
    };
    if timeline.versions.is_empty() {
        ui.weak("The history has no version of this key.");
        return;
    }
    let palette = Palette::of(ui);
    egui::ScrollArea::both()
        .id_salt("timeline_scroll")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            egui::Grid::new(("timeline", timeline.diff_row))
                .striped(true)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    ui.strong("valid");
                    ui.strong("state");
                    for column in &timeline.columns {
                        ui.strong(column);
                    }
                    ui.strong("opened by");
                    ui.end_row();
                    for version in &timeline.versions {
                        timeline_row(ui, version, &palette);
                        ui.end_row();
                    }
                });
        });
}

fn timeline_row(ui: &mut egui::Ui, version: &TimelineVersion, palette: &Palette) {
    let from = version.valid_from.as_deref().unwrap_or("load");
    let to = match (&version.valid_to, version.state) {
        (Some(to), _) => to.as_str(),
        (None, VersionState::Current) => "now",
        (None, _) => "?",
    };
    ui.label(format!("{from} → {to}")).on_hover_text(
        "The sequence values of the change that opened this version and of the one that \
         closed it (load: a row of the snapshot)",
    );
    let state = RichText::new(version.state.label());
    ui.label(match version.state {
        VersionState::Current => state.color(palette.inserted),
        VersionState::Deleted => state.color(palette.deleted),
        VersionState::Closed => state.weak(),
    });
    for (value, &changed) in version.values.iter().zip(&version.changed) {
        if changed {
            highlighted(ui, value.clone(), palette);
        } else {
            ui.label(value);
        }
    }
    ui.label(format!(
        "{} {} row {}",
        version.operation,
        short_name(&version.file),
        version.row
    ))
    .on_hover_text(&version.file);
}

/// A value on the changed-cell highlight, described as changed for screen readers (and the
/// UI tests): the colour alone says nothing to them.
fn highlighted(ui: &mut egui::Ui, text: String, palette: &Palette) -> egui::Response {
    let response = egui::Frame::new()
        .fill(palette.changed_cell)
        .corner_radius(3)
        .inner_margin(egui::Margin::symmetric(4, 0))
        .show(ui, |ui| ui.label(text))
        .inner;
    ui.ctx().accesskit_node_builder(response.id, |node| {
        node.set_description("changed");
    });
    response
}

/// What one column of the diff table shows.
enum DiffColumn<'a> {
    Change,
    Key(Cells<'a>),
    Value {
        name: &'a str,
        before: Cells<'a>,
        after: Cells<'a>,
    },
    Plain(Cells<'a>),
    ChangesApplied,
    SourceFile(&'a arrow_array::StringArray),
    SourceRow,
}

/// The diff's sort: the one asked for, and whether it is still being computed.
#[derive(Clone, Copy)]
struct Sorted<'a> {
    shown: Option<&'a DiffSort>,
    pending: Option<&'a DiffSort>,
}

impl Sorted<'_> {
    /// A header's title with the sort it is under, if any: `name ⬆`, and for a compared
    /// column which of its values, `city: before ⬇`.
    fn title(&self, title: &str, by: &DiffSortBy) -> String {
        let Some(sort) = self.shown else {
            return title.to_string();
        };
        let arrow = if sort.descending { "⬇" } else { "⬆" };
        match (&sort.by, by) {
            (DiffSortBy::After(a), DiffSortBy::After(b)) if a == b => {
                format!("{title}: after {arrow}")
            }
            (DiffSortBy::Before(a), DiffSortBy::After(b)) if a == b => {
                format!("{title}: before {arrow}")
            }
            (a, b) if a == b => format!("{title} {arrow}"),
            _ => title.to_string(),
        }
    }

    fn is_pending(&self, by: &DiffSortBy) -> bool {
        self.pending.is_some_and(|sort| match (&sort.by, by) {
            (DiffSortBy::Before(a) | DiffSortBy::After(a), DiffSortBy::After(b)) => a == b,
            (a, b) => a == b,
        })
    }
}

fn diff_table(
    review: &Review,
    rows: &[u32],
    scroll_to: Option<f32>,
    sort: Sorted,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    let diff = &review.output.diff;
    let has_history = review.has_history();
    // Each column: its title, what it shows, its width, what its header sorts by.
    let mut columns: Vec<(String, DiffColumn, Column, DiffSortBy)> = vec![(
        "change".into(),
        DiffColumn::Change,
        Column::initial(72.0),
        DiffSortBy::Kind,
    )];
    for (k, (key, values)) in review.key_columns.iter().zip(diff.keys()).enumerate() {
        if let Some(f) = formatter(values) {
            columns.push((
                key.clone(),
                DiffColumn::Key(f),
                Column::initial(70.0),
                DiffSortBy::Key(k),
            ));
        }
    }
    for name in diff.value_columns() {
        let before = diff.before(name).and_then(formatter);
        let after = diff.after(name).and_then(formatter);
        if let (Some(before), Some(after)) = (before, after) {
            columns.push((
                name.clone(),
                DiffColumn::Value {
                    name,
                    before,
                    after,
                },
                Column::initial(165.0),
                // A compared column sorts by its value after the run, or before it.
                DiffSortBy::After(name.clone()),
            ));
        }
    }
    columns.push((
        "changes".into(),
        DiffColumn::ChangesApplied,
        Column::initial(60.0),
        DiffSortBy::Changes,
    ));
    columns.push((
        "source file".into(),
        DiffColumn::SourceFile(diff.source_files()),
        Column::initial(175.0),
        DiffSortBy::Source,
    ));
    columns.push((
        "row".into(),
        DiffColumn::SourceRow,
        Column::initial(45.0),
        DiffSortBy::Source,
    ));
    if let Some(f) = diff.source_sequence().and_then(formatter) {
        columns.push((
            "sequence".into(),
            DiffColumn::Plain(f),
            Column::initial(200.0),
            DiffSortBy::Sequence,
        ));
    }
    let palette = Palette::of(ui);

    let mut table = TableBuilder::new(ui)
        .id_salt(("diff", columns.len()))
        .striped(true)
        .resizable(true)
        .cell_layout(Layout::left_to_right(Align::Center))
        .min_scrolled_height(0.0);
    for (_, _, width, _) in &columns {
        table = table.column(width.clip(true).at_least(30.0));
    }
    if let Some(offset) = scroll_to {
        table = table.vertical_scroll_offset(offset);
    }
    table
        .header(ROW_HEIGHT + 2.0, |mut header| {
            for (title, _, _, by) in &columns {
                header.col(|ui| {
                    let button = egui::Button::new(RichText::new(sort.title(title, by)).strong())
                        .frame(false);
                    let hint = match by {
                        DiffSortBy::After(_) => format!(
                            "Sort by {title} after the run; click again to reverse, then to \
                             sort by {title} before it"
                        ),
                        DiffSortBy::Source => {
                            "Sort by the source file (in the order files apply in), then row"
                                .to_string()
                        }
                        _ => format!("Sort by {title}; click again to reverse"),
                    };
                    if ui.add(button).on_hover_text(hint).clicked() {
                        actions.push(Action::SortDiff(by.clone()));
                    }
                    if sort.is_pending(by) {
                        ui.spinner();
                    }
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                let index = rows[row.index()] as usize;
                let kind = diff.kind(index);
                for (_, content, _, _) in &columns {
                    row.col(|ui| match content {
                        DiffColumn::Change => {
                            let text = RichText::new(kind.as_str());
                            ui.label(match palette.kind(kind) {
                                Some(color) => text.color(color),
                                None => text.weak(),
                            })
                            .on_hover_text(kind.meaning());
                        }
                        DiffColumn::Key(f) if has_history => {
                            if ui
                                .link(f.shown(index))
                                .on_hover_text("Every version of this key")
                                .clicked()
                            {
                                actions.push(Action::ShowTimeline(index as u32));
                            }
                        }
                        DiffColumn::Key(f) => {
                            value_label(ui, f, index);
                        }
                        DiffColumn::Value {
                            name,
                            before,
                            after,
                        } => {
                            let is_changed = diff.changed_columns(index).any(|c| c == *name);
                            value_cell(ui, kind, is_changed, before, after, index, &palette);
                        }
                        DiffColumn::Plain(f) => {
                            value_label(ui, f, index);
                        }
                        DiffColumn::ChangesApplied => {
                            ui.label(diff.changes_applied(index).to_string());
                        }
                        DiffColumn::SourceRow => {
                            ui.label(diff.source(index).row.to_string());
                        }
                        DiffColumn::SourceFile(files) => {
                            let name = files.value(index);
                            ui.label(short_name(name)).on_hover_text(name);
                        }
                    });
                }
            });
        });
}

/// A value in the diff: the new one for inserts, the old one struck through for deletes, and
/// `old → new` on a highlight where an update changed it.
fn value_cell(
    ui: &mut egui::Ui,
    kind: ChangeKind,
    changed: bool,
    before: &Cells,
    after: &Cells,
    row: usize,
    palette: &Palette,
) {
    match kind {
        ChangeKind::Deleted => {
            ui.label(
                RichText::new(before.shown(row))
                    .strikethrough()
                    .color(palette.deleted),
            )
            .on_hover_ui(|ui| {
                ui.label(before.full(row));
            });
        }
        ChangeKind::Updated if changed => {
            let text = format!("{} → {}", before.shown(row), after.shown(row));
            highlighted(ui, text, palette).on_hover_ui(|ui| {
                ui.label(format!("{} → {}", before.full(row), after.full(row)));
            });
        }
        _ => {
            value_label(ui, after, row);
        }
    }
}

/// Scroll bars with room of their own: egui's float over the content, and a wide table's
/// sideways bar then covered its last row (a click on a key of a one-row diff hit the bar).
fn solid_scroll_bars(ui: &mut egui::Ui) {
    ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
}

pub fn table_view(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    app.refresh_table_rows();
    if !app.table_filters.is_empty() {
        table_filter_bar(app, ui, actions);
        match &app.table_rows {
            Err(error) => {
                ui.colored_label(ui.visuals().error_fg_color, error);
                return;
            }
            Ok(rows) if rows.is_empty() => {
                ui.weak("No row matches the filters.");
                return;
            }
            Ok(_) => {}
        }
    }
    solid_scroll_bars(ui);
    egui::ScrollArea::horizontal()
        .id_salt("table_sideways")
        .show(ui, |ui| enriched_table(app, ui, actions));
}

/// How many rows the table view's filters select, and each as a chip that takes it off.
fn table_filter_bar(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let total = app.review_state().map_or(0, |r| r.table().num_rows());
    let selected = app.table_rows.as_ref().map_or(0, Vec::len);
    ui.horizontal_wrapped(|ui| {
        ui.weak(format!("{} of {}", count(selected), plural(total, "row")));
        for (at, filter) in app.table_filters.iter().enumerate() {
            let chip = ui
                .button(format!("{} ✖", describe(filter)))
                .on_hover_text("Remove this filter");
            if chip.clicked() {
                actions.push(Action::RemoveTableFilter(at));
            }
        }
    });
}

fn enriched_table(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(shown) = &app.shown else {
        return;
    };
    let table = shown.review.table();
    // The rows to show, in order: those the filters select (already in the sort's order),
    // else every row in the sort's order, else the table's own.
    let filtered = match (&app.table_rows, app.table_filters.is_empty()) {
        (Ok(rows), false) => Some(rows.as_slice()),
        _ => None,
    };
    let order = app.table_order();
    let sorting = app.sorting();
    let sort = app.table_sort;
    let scroll_to = app.scroll_to.take();

    let formatters: Vec<Option<Cells>> = table.columns().iter().map(Cells::new).collect();
    let schema = table.schema();
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();

    let mut builder = TableBuilder::new(ui)
        .id_salt(("table", table.num_columns()))
        .striped(true)
        .resizable(true)
        .cell_layout(Layout::left_to_right(Align::Center))
        .min_scrolled_height(0.0);
    for field in schema.fields() {
        builder = builder.column(
            Column::initial(initial_width(field.data_type()))
                .clip(true)
                .at_least(40.0),
        );
    }
    if let Some(offset) = scroll_to {
        builder = builder.vertical_scroll_offset(offset);
    }
    builder
        .header(ROW_HEIGHT + 4.0, |mut header| {
            for (index, field) in schema.fields().iter().enumerate() {
                header.col(|ui| {
                    let arrow = match sort {
                        Some(s) if s.column == index && s.descending => " ⬇",
                        Some(s) if s.column == index => " ⬆",
                        _ => "",
                    };
                    let button = egui::Button::new(
                        RichText::new(format!("{}{arrow}", field.name())).strong(),
                    )
                    .frame(false);
                    if ui
                        .add(button)
                        .on_hover_text(format!("Sort by {}", field.name()))
                        .clicked()
                    {
                        actions.push(Action::SortTable(index));
                    }
                    if sorting.is_some_and(|s| s.column == index) {
                        ui.spinner();
                    }
                });
            }
        })
        .body(|body| {
            let shown = filtered.map_or(table.num_rows(), <[u32]>::len);
            body.rows(ROW_HEIGHT, shown, |mut row| {
                let index = match (filtered, &order) {
                    (Some(rows), _) => rows[row.index()] as usize,
                    (None, Some(order)) => order[row.index()] as usize,
                    (None, None) => row.index(),
                };
                for (column, formatter) in formatters.iter().enumerate() {
                    row.col(|ui| {
                        let Some(formatter) = formatter else {
                            return;
                        };
                        if numeric[column] {
                            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                                value_label(ui, formatter, index);
                            });
                        } else {
                            value_label(ui, formatter, index);
                        }
                    });
                }
            });
        });
}

/// Wide enough for most values of a type, so the enriched table fits a laptop's window.
fn initial_width(data_type: &arrow_schema::DataType) -> f32 {
    use arrow_schema::DataType::*;
    match data_type {
        // Rates show four decimals (every digit on hover).
        Float16 | Float32 | Float64 => 90.0,
        d if d.is_numeric() => 80.0,
        Date32 | Date64 => 95.0,
        Timestamp(..) => 190.0,
        _ => 135.0,
    }
}

/// The height of a table's rows, in pixels: how far the benchmark's sweeps scroll.
pub fn content_height(ui_spacing_y: f32, rows: usize) -> f32 {
    (ROW_HEIGHT + ui_spacing_y) * rows as f32
}

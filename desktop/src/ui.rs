//! The window: a top bar (open, export, progress), the inputs and settings on the left, the
//! diff or the enriched table in the middle. Functions of the app's state; what the user asks
//! for comes back as [`Action`]s.

use std::path::PathBuf;

use egui::{Align, Color32, Layout, RichText};
use tidemark_core::OutputFormat;

use crate::app::{Action, Notice, TidemarkApp, View, count, plural, seconds};
use crate::dialogs::DialogRequest;
use crate::export::ExportTarget;
use crate::session::short_name;

pub fn draw(app: &mut TidemarkApp, ui: &mut egui::Ui) -> Vec<Action> {
    let mut actions = Vec::new();
    egui::Panel::top("top_bar")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(6))
        .show(ui, |ui| top_bar(app, ui, &mut actions));
    if let Some(notice) = &app.notice {
        egui::Panel::top("notice").show(ui, |ui| notice_bar(notice, ui, &mut actions));
    }
    egui::Panel::left("inputs")
        .resizable(true)
        .default_size(300.0)
        .size_range(240.0..=600.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| inputs_panel(app, ui, &mut actions));
        });
    egui::CentralPanel::default().show(ui, |ui| central_panel(app, ui, &mut actions));

    preview_files_being_dropped(ui.ctx());
    let dropped: Vec<PathBuf> = ui.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .collect()
    });
    app.open_dropped(dropped);
    actions
}

fn top_bar(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.heading(RichText::new("Tidemark").strong());
        ui.separator();
        ui.add_enabled_ui(!app.dialog_open, |ui| {
            let buttons = [
                (
                    "Open snapshot…",
                    DialogRequest::OpenSnapshot,
                    "A Parquet file, a DMS CSV, or the LOAD*.csv parts of a full load. \
                     The change files stay.",
                ),
                (
                    "Add change files…",
                    DialogRequest::AddChangeFiles,
                    "DMS change files (.csv, .csv.gz, .parquet): applied in the order of the \
                     time in their names",
                ),
                (
                    "Add folder…",
                    DialogRequest::AddChangeFolder,
                    "A folder searched (with its date folders) for change files",
                ),
            ];
            for (label, request, hint) in buttons {
                if ui.button(label).on_hover_text(hint).clicked() {
                    actions.push(Action::Ask(request));
                }
            }
        });
        if ui
            .button("Seed example")
            .on_hover_text("The bundled users table and its five change files")
            .clicked()
        {
            actions.push(Action::LoadSeed);
        }
        ui.separator();
        let can_export = app.shown.is_some() && !app.jobs.is_busy() && !app.dialog_open;
        ui.add_enabled_ui(can_export, |ui| {
            ui.menu_button("Export", |ui| export_menu(app, ui, actions))
                .response
                .on_disabled_hover_text("Nothing to export while a job runs");
        });
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            job_status(app, ui, actions);
        });
    });
}

fn export_menu(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.label("Format");
        for format in [OutputFormat::Parquet, OutputFormat::Csv] {
            if ui
                .radio(app.export_format == format, format!("{format:?}"))
                .clicked()
            {
                actions.push(Action::SetExportFormat(format));
            }
        }
    });
    ui.separator();
    for target in ExportTarget::EVERY {
        if ui.button(target.label()).clicked() {
            actions.push(app.export(target));
            ui.close();
        }
    }
}

fn job_status(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(job) = app.jobs.current() else {
        return;
    };
    let status = job.status();
    if ui
        .button("Cancel")
        .on_hover_text(
            "Stops waiting for this job. A computation cannot stop half-way: it finishes in \
             the background and its result is discarded; an export writes nothing.",
        )
        .clicked()
    {
        actions.push(Action::Cancel);
    }
    ui.add(
        egui::ProgressBar::new(status.fraction)
            .desired_width(160.0)
            .show_percentage()
            .animate(true),
    );
    let elapsed = job.started.elapsed().as_secs_f32();
    let stage = if status.stage.is_empty() {
        job.title.clone()
    } else {
        status.stage
    };
    ui.label(format!("{stage} · {elapsed:.1} s"))
        .on_hover_text(&job.title);
}

fn notice_bar(notice: &Notice, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let (text, color, location) = match notice {
        Notice::Error(problem) => (
            format!("Error: {}", problem.message),
            ui.visuals().error_fg_color,
            problem.location.as_ref(),
        ),
        Notice::Info(message) => (message.clone(), ui.visuals().text_color(), None),
    };
    ui.horizontal(|ui| {
        if ui.small_button("✖").on_hover_text("Dismiss").clicked() {
            actions.push(Action::DismissNotice);
        }
        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
    });
    // Where the problem is, each part on its own: the file (its name, the path on hover), the
    // row as an editor counts it, the column.
    if let Some(location) = location {
        ui.horizontal(|ui| {
            ui.add_space(24.0);
            ui.label(format!("File {}", short_name(&location.file)))
                .on_hover_text(&location.file);
            if let Some(row) = location.row {
                ui.label(format!("Row {row}"));
            }
            if let Some(column) = &location.column {
                ui.label(format!("Column {column}"));
            }
        });
    }
}

/// A problem as the core words it, `file, row 2, column `x`: what is wrong`, with the file's
/// last component (the list it stands in names the file in full on hover).
fn located(problem: &crate::app::Problem) -> String {
    match &problem.location {
        Some(location) => {
            let mut short = location.clone();
            short.file = short_name(&location.file).to_string();
            format!("{short}: {}", problem.message)
        }
        None => problem.message.clone(),
    }
}

fn inputs_panel(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.add_space(4.0);
    ui.strong("Snapshot");
    let report = app.shown.as_ref().map(|s| &s.review.output.report);
    for file in &app.draft.snapshot {
        ui.label(short_name(&file.name)).on_hover_text(&file.name);
    }
    if let Some(state) = &app.draft.state {
        ui.weak(format!("with the state {}", short_name(&state.name)))
            .on_hover_text(&state.name);
    }
    if let Some(report) = report {
        ui.weak(plural(report.snapshot.rows, "row"));
    }
    ui.add_space(8.0);
    delta_table(app, ui, actions);

    ui.add_space(8.0);
    ui.strong("Change files");
    ui.weak("In the order they are applied: by the time in their DMS names.");
    if app.draft.changes.is_empty() {
        ui.weak("None: add some to see what they do.");
    }
    for (index, change) in app.draft.changes.iter().enumerate() {
        let name = &change.file.name;
        let error = app.file_errors.get(name);
        ui.horizontal(|ui| {
            ui.weak(format!("{}.", index + 1));
            let mut included = change.included;
            let hint = match error {
                Some(_) => format!(
                    "{name}\nLeft out: the core could not read it (below). Tick to try it again"
                ),
                None => format!("{name}\nUntick to see the result without this file"),
            };
            let label = match error {
                Some(_) => RichText::new(short_name(name)).color(ui.visuals().error_fg_color),
                None => RichText::new(short_name(name)),
            };
            if ui
                .checkbox(&mut included, label)
                .on_hover_text(hint)
                .changed()
            {
                actions.push(Action::SetIncluded(name.clone(), included));
            }
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if ui
                    .small_button("✖")
                    .on_hover_text("Remove this file")
                    .clicked()
                {
                    actions.push(Action::RemoveChange(name.clone()));
                }
            });
        });
        if let Some(problem) = error {
            ui.indent(name, |ui| {
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("Not read: {}", located(problem)))
                            .color(ui.visuals().error_fg_color),
                    )
                    .wrap(),
                )
                .on_hover_text(problem.to_string());
            });
            continue;
        }
        let counts = match app.file_counts.get(name) {
            Some(c) => format!(
                "{}: {} I · {} U · {} D{}",
                plural(c.rows, "row"),
                count(c.inserts),
                count(c.updates),
                count(c.deletes),
                if change.included { "" } else { " (left out)" }
            ),
            None => "not read yet".into(),
        };
        ui.indent(name, |ui| ui.weak(counts));
    }

    ui.add_space(8.0);
    ui.separator();
    settings(app, ui, actions);
    ui.add_space(8.0);
    ui.separator();
    anomalies(app, ui, actions);
    ui.add_space(8.0);
    ui.separator();
    column_changes(app, ui, actions);
}

/// A Delta table: where it is (a folder, or `s3://`), and once open, the two versions compared.
fn delta_table(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.strong("Delta table");
    // Narrow enough for the panel's default width: the field on a line of its own.
    let label = ui.label("Location");
    let field = ui
        .add(
            egui::TextEdit::singleline(&mut app.delta_location)
                .hint_text("lake/users or s3://bucket/users")
                .desired_width(ui.available_width().min(260.0)),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "A folder with _delta_log/, the folder `tidemark apply --delta --out` wrote \
             (its table/), or an s3:// URL (credentials from the AWS_* environment)",
        );
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.horizontal(|ui| {
        let location = app.delta_location.trim().to_string();
        if ui
            .add_enabled(!location.is_empty(), egui::Button::new("Open table"))
            .clicked()
            || (entered && !location.is_empty())
        {
            actions.push(Action::OpenDelta(location));
        }
        if ui
            .add_enabled(!app.dialog_open, egui::Button::new("Browse…"))
            .on_hover_text("Choose the table's folder")
            .clicked()
        {
            actions.push(Action::Ask(DialogRequest::OpenDeltaTable));
        }
    });
    let Some(delta) = &mut app.draft.delta else {
        ui.weak("Open one to compare two of its versions.");
        return;
    };
    ui.weak(format!("Versions 0 to {}", delta.latest))
        .on_hover_text(&delta.location);
    let latest = delta.latest;
    let mut changed = false;
    ui.horizontal(|ui| {
        for (name, version) in [("Version A", &mut delta.from), ("Version B", &mut delta.to)] {
            let label = ui.label(name);
            let response = ui
                .add(
                    egui::DragValue::new(version)
                        .range(0..=latest)
                        .prefix("v")
                        .update_while_editing(false),
                )
                .labelled_by(label.id);
            // Read the versions once set, not on every step of a drag.
            changed |= (response.changed() && !response.dragged()) || response.drag_stopped();
        }
    });
    ui.weak("The diff shows what changed from version A to version B.");
    if changed {
        actions.push(Action::CompareVersions(delta.from, delta.to));
    }
}

/// What the updates did to each column, as the core's report counts it: per column they
/// changed, how many updates and how many to null, and the most frequent old → new values.
fn column_changes(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.strong("Columns the updates changed");
    let Some(shown) = &app.shown else {
        return;
    };
    let columns = &shown.review.output.report.apply.columns;
    let mut changed: Vec<_> = columns.iter().filter(|c| c.changed > 0).collect();
    if changed.is_empty() {
        ui.weak("None: no update changed a value.");
        return;
    }
    changed.sort_by_key(|c| std::cmp::Reverse(c.changed));
    for column in changed {
        let mut title = format!("{}: {}", column.column, plural(column.changed, "update"));
        if column.became_null > 0 {
            title.push_str(&format!(", {} to null", count(column.became_null)));
        }
        egui::CollapsingHeader::new(title)
            .id_salt(("column_changes", &column.column))
            .show(ui, |ui| {
                let filter = tidemark_core::review::Filter::Changed {
                    column: column.column.clone(),
                };
                if !app.filters.contains(&filter)
                    && ui
                        .link(format!("Show the keys whose {} changed", column.column))
                        .clicked()
                {
                    actions.push(Action::ShowView(View::Diff));
                    actions.push(Action::ToggleFacet(filter));
                }
                let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".into());
                for t in &column.top_transitions {
                    ui.label(format!(
                        "{} → {} × {}",
                        value(&t.before),
                        value(&t.after),
                        count(t.count)
                    ));
                }
                let shown: usize = column.top_transitions.iter().map(|t| t.count).sum();
                if column.changed > shown {
                    ui.weak(format!(
                        "and {} more",
                        plural(column.changed - shown, "update")
                    ));
                }
            });
    }
}

fn settings(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.strong("Settings");
    let features = app
        .shown
        .as_ref()
        .and_then(|s| s.review.output.report.features.as_ref());
    egui::Grid::new("settings")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            ui.label("as_of");
            ui.vertical(|ui| {
                // Fixing the date starts from the one in use, so nothing changes until picked.
                let in_use = app.draft.settings.as_of.or(features.map(|f| f.as_of));
                let mut automatic = app.draft.settings.as_of.is_none();
                if ui
                    .add_enabled(
                        in_use.is_some(),
                        egui::Checkbox::new(&mut automatic, "From the data"),
                    )
                    .on_hover_text(
                        "The date of the newest change applied (its timestamp, or the newest \
                         change file's DMS name); never today's date, so a rerun gives the \
                         same result",
                    )
                    .changed()
                {
                    actions.push(Action::SetAsOf(if automatic { None } else { in_use }));
                }
                match (app.draft.settings.as_of, features) {
                    (Some(date), _) => {
                        let mut picked = to_civil(date);
                        let picker = egui_extras::DatePickerButton::new(&mut picked)
                            .id_salt("as_of")
                            .calendar_week(false);
                        if ui.add(picker).changed()
                            && let Some(date) = from_civil(picked)
                        {
                            actions.push(Action::SetAsOf(Some(date)));
                        }
                    }
                    (None, Some(f)) => {
                        ui.label(f.as_of.to_string())
                            .on_hover_text(f.as_of_source.to_string());
                    }
                    (None, None) => {}
                }
            });
            ui.end_row();

            ui.label("Window");
            ui.horizontal(|ui| {
                let response = ui.add(
                    egui::DragValue::new(&mut app.draft.settings.window_days)
                        .range(1..=3650)
                        .suffix(" days")
                        .update_while_editing(false),
                );
                // Recompute once the value is set, not on every step of a drag.
                if (response.changed() && !response.dragged()) || response.drag_stopped() {
                    actions.push(Action::SetWindowDays(app.draft.settings.window_days));
                }
                if let Some(f) = features {
                    ui.weak(format!("from {}", f.window_start));
                }
            });
            ui.end_row();

            ui.label("Lookup");
            ui.vertical(|ui| {
                let own = app.draft.settings.lookup.as_ref();
                if ui
                    .radio(own.is_none(), "GeoNames US cities (bundled)")
                    .clicked()
                    && own.is_some()
                {
                    actions.push(Action::UseBundledLookup);
                }
                let own_label = own.map_or("A file of your own…".to_string(), |f| {
                    short_name(&f.name).to_string()
                });
                if ui
                    .radio(own.is_some(), own_label)
                    .on_hover_text("A CSV with a header (city, state[, population]) or Parquet")
                    .clicked()
                {
                    actions.push(Action::Ask(DialogRequest::ChooseLookup));
                }
                if let Some(lookup) = features.and_then(|f| f.lookup.as_ref()) {
                    ui.weak(format!(
                        "{} matched, {} unmatched",
                        plural(lookup.matched_rows, "row"),
                        plural(lookup.unmatched.len(), "name")
                    ));
                }
            });
            ui.end_row();
        });
}

fn to_civil(date: chrono::NaiveDate) -> jiff::civil::Date {
    use chrono::Datelike;
    jiff::civil::Date::new(date.year() as i16, date.month() as i8, date.day() as i8)
        .unwrap_or_default()
}

fn from_civil(date: jiff::civil::Date) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(date.year().into(), date.month() as u32, date.day() as u32)
}

fn anomalies(app: &TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.strong("Anomalies");
    let Some(shown) = &app.shown else {
        return;
    };
    let report = &shown.review.output.report;
    if report.anomalies.is_empty() {
        ui.weak("None: every change fitted the snapshot.");
    }
    for anomaly in &report.anomalies {
        egui::CollapsingHeader::new(format!(
            "{} × {}",
            count(anomaly.count),
            anomaly.kind.describe()
        ))
        .id_salt(anomaly.kind)
        .show(ui, |ui| {
            for example in &anomaly.examples {
                let text = format!(
                    "key {} · {} row {}",
                    example.key,
                    short_name(&example.file),
                    example.row
                );
                if ui
                    .link(text)
                    .on_hover_text("Show this key in the diff")
                    .clicked()
                {
                    actions.push(Action::FindKey(example.key.clone()));
                }
            }
            if anomaly.count > anomaly.examples.len() {
                ui.weak(format!(
                    "and {} more",
                    count(anomaly.count - anomaly.examples.len())
                ));
            }
        });
    }
    let group = shown
        .session
        .spec
        .features
        .as_ref()
        .map_or("group", |f| f.group.as_str());
    let Some(lookup) = report.features.as_ref().and_then(|f| f.lookup.as_ref()) else {
        return;
    };
    if lookup.unmatched.is_empty() {
        ui.weak(format!("Every {group} matched the lookup table."));
    } else {
        egui::CollapsingHeader::new(
            RichText::new(format!(
                "{} unmatched {group} name{}",
                count(lookup.unmatched.len()),
                if lookup.unmatched.len() == 1 { "" } else { "s" }
            ))
            .color(ui.visuals().warn_fg_color),
        )
        .id_salt("unmatched")
        .default_open(true)
        .show(ui, |ui| {
            for name in &lookup.unmatched {
                unmatched_name(&name.name, name.rows, None, ui, actions);
            }
        });
    }
    if !lookup.ambiguous.is_empty() {
        egui::CollapsingHeader::new(format!(
            "{} ambiguous {group} name{}",
            count(lookup.ambiguous.len()),
            if lookup.ambiguous.len() == 1 { "" } else { "s" }
        ))
        .id_salt("ambiguous")
        .show(ui, |ui| {
            ui.weak("Resolved to the most populous place:");
            for name in &lookup.ambiguous {
                ui.label(format!("{} → {}", name.name, name.chosen))
                    .on_hover_text(format!("also {}", name.others.join(", ")));
            }
        });
    }
}

fn central_panel(app: &mut TidemarkApp, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(shown) = &app.shown else {
        ui.centered_and_justified(|ui| {
            if app.jobs.is_busy() {
                ui.spinner();
            } else {
                ui.label(
                    "Nothing to review yet: open a snapshot and change files, drop them on this \
                     window, or load the seed example.",
                );
            }
        });
        return;
    };
    let review = &shown.review;
    let report = &review.output.report;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!(
            "{}: {} + {} from {} → {}",
            report.table,
            plural(report.snapshot.rows, "row"),
            plural(report.apply.changes, "change"),
            plural(report.changes.len(), "file"),
            plural(report.apply.rows_after, "row"),
        ));
        let t = review.timings;
        ui.weak(format!(
            "computed in {}",
            seconds(t.read + t.run + t.prepare)
        ))
        .on_hover_text(format!(
            "read {}, decode + apply + features {}, views {}",
            seconds(t.read),
            seconds(t.run),
            seconds(t.prepare)
        ));
        if let Some(f) = &report.features {
            ui.weak(format!(
                "· as_of {} · window {} days",
                f.as_of, f.window_days
            ));
        }
        if app.is_recomputing() {
            ui.colored_label(ui.visuals().warn_fg_color, "Out of date: recomputing…")
                .on_hover_text(
                    "The inputs or settings changed: the result below is the previous one \
                     until the new one is computed (progress at the top right)",
                );
        }
    });
    unmatched_names(shown, ui, actions);
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let table_label = if review.output.enriched.is_some() {
            "Enriched table"
        } else {
            "New table"
        };
        for (view, label) in [
            (
                View::Diff,
                format!(
                    "Diff ({})",
                    plural(review.count(crate::review::DiffFilter::All), "key")
                ),
            ),
            (
                View::Table,
                format!(
                    "{table_label} ({})",
                    plural(review.table().num_rows(), "row")
                ),
            ),
        ] {
            if ui.selectable_label(app.view == view, label).clicked() {
                actions.push(Action::ShowView(view));
            }
        }
    });
    ui.separator();
    match app.view {
        View::Diff => crate::tables::diff_view(app, ui, actions),
        View::Table => crate::tables::table_view(app, ui, actions),
    }
}

/// How many names of the lookup's group (the cities) found no value (no state), with how many
/// rows each: above the views, in the warning colour, most rows first, as the CLI's summary
/// says it first. Their rows' lookup column is empty in the enriched table.
fn unmatched_names(shown: &crate::app::Shown, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let report = &shown.review.output.report;
    let Some(mut lookup) = report.features.as_ref().and_then(|f| f.lookup.clone()) else {
        return;
    };
    if lookup.unmatched.is_empty() {
        return;
    }
    lookup.sort_names();
    let features = shown.session.spec.features.as_ref();
    let group = features.map_or("group", |f| f.group.as_str());
    let value = features
        .and_then(|f| f.output.lookup.as_deref())
        .unwrap_or("value");
    let rows: usize = lookup.unmatched.iter().map(|n| n.rows).sum();
    let warn = ui.visuals().warn_fg_color;
    egui::Frame::new()
        .stroke(egui::Stroke::new(1.0, warn))
        .corner_radius(4)
        .inner_margin(6)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    RichText::new(format!(
                        "⚠ {} not in the lookup table: {} without a {value}:",
                        plural(lookup.unmatched.len(), &format!("{group} name")),
                        plural(rows, "row"),
                    ))
                    .color(warn)
                    .strong(),
                )
                .on_hover_text(format!("The lookup table: {}", lookup.source));
                const SHOWN: usize = 12;
                for name in lookup.unmatched.iter().take(SHOWN) {
                    unmatched_name(&name.name, name.rows, Some(warn), ui, actions);
                }
                if lookup.unmatched.len() > SHOWN {
                    ui.weak(format!(
                        "and {} more (listed on the left)",
                        count(lookup.unmatched.len() - SHOWN)
                    ));
                }
            });
        });
}

/// A name the lookup did not find, with its rows: a click shows them in the table view.
fn unmatched_name(
    name: &str,
    rows: usize,
    color: Option<Color32>,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    let text = RichText::new(format!("{name} ({})", plural(rows, "row")));
    let text = match color {
        Some(color) => text.color(color),
        None => text,
    };
    if ui
        .link(text)
        .on_hover_text("Show these rows in the table")
        .clicked()
    {
        actions.push(Action::ShowUnmatched(name.to_string()));
    }
}

/// Darkens the window and says what dropping does, while files hover over it.
fn preview_files_being_dropped(ctx: &egui::Context) {
    use egui::{Align2, Id, LayerId, Order, TextStyle};
    let hovered = ctx.input(|i| i.raw.hovered_files.len());
    if hovered == 0 {
        return;
    }
    let painter = ctx.layer_painter(LayerId::new(Order::Foreground, Id::unique("drop_target")));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(192));
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        format!(
            "Drop {hovered} file{} or folder{}:\n\
             a snapshot (snapshot.*, LOAD*.csv) with change files opens them;\n\
             change files alone are added to the review.",
            if hovered == 1 { "" } else { "s" },
            if hovered == 1 { "" } else { "s" },
        ),
        TextStyle::Heading.resolve(&ctx.global_style()),
        Color32::WHITE,
    );
}

//! File dialogs, behind a trait so tests can answer them instead of a person.

use std::path::PathBuf;
use std::sync::Mutex;

use tidemark_core::OutputFormat;

use crate::export::ExportTarget;

/// What the app asks the user for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogRequest {
    /// A snapshot (or the parts of a full load).
    OpenSnapshot,
    AddChangeFiles,
    /// A folder searched for change files.
    AddChangeFolder,
    ChooseLookup,
    /// A folder holding a Delta table (or the tables `tidemark apply --delta` writes).
    OpenDeltaTable,
    Save {
        target: ExportTarget,
        format: OutputFormat,
    },
}

/// Delivers the chosen paths; empty when the user cancelled.
pub type Answer = Box<dyn FnOnce(Vec<PathBuf>) + Send>;

pub trait FileDialogs {
    /// Shows the dialog without blocking the UI thread; `answer` is called when it closes.
    fn ask(&self, request: DialogRequest, answer: Answer);
}

/// The platform's dialogs (`rfd`: the XDG portal, or zenity, on Linux).
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn ask(&self, request: DialogRequest, answer: Answer) {
        let data = tidemark_core::files::DATA_FILE_EXTENSIONS;
        let dialog = rfd::AsyncFileDialog::new();
        std::thread::spawn(move || {
            let paths = |handles: Option<Vec<rfd::FileHandle>>| -> Vec<PathBuf> {
                handles
                    .unwrap_or_default()
                    .iter()
                    .map(|h| h.path().to_path_buf())
                    .collect()
            };
            let chosen = match request {
                DialogRequest::OpenSnapshot => paths(pollster::block_on(
                    dialog
                        .set_title("Open a snapshot (Parquet, DMS CSV, or the LOAD parts)")
                        .add_filter("Snapshot", &data)
                        .pick_files(),
                )),
                DialogRequest::AddChangeFiles => paths(pollster::block_on(
                    dialog
                        .set_title("Add change files")
                        .add_filter("Change files", &data)
                        .pick_files(),
                )),
                DialogRequest::AddChangeFolder => paths(
                    pollster::block_on(
                        dialog
                            .set_title("Add a folder of change files")
                            .pick_folder(),
                    )
                    .map(|h| vec![h]),
                ),
                DialogRequest::OpenDeltaTable => paths(
                    pollster::block_on(
                        dialog
                            .set_title("Open a Delta table (a folder with _delta_log/)")
                            .pick_folder(),
                    )
                    .map(|h| vec![h]),
                ),
                DialogRequest::ChooseLookup => paths(
                    pollster::block_on(
                        dialog
                            .set_title("Choose a lookup table (city,state CSV or Parquet)")
                            .add_filter("Lookup table", &["csv", "parquet"])
                            .pick_file(),
                    )
                    .map(|h| vec![h]),
                ),
                DialogRequest::Save { target, format } => paths(
                    pollster::block_on(
                        dialog
                            .set_title("Export")
                            .set_file_name(format!("{}.{}", target.file_stem(), format.extension()))
                            .add_filter(format!("{format:?}"), &[format.extension()])
                            .save_file(),
                    )
                    .map(|h| vec![h]),
                ),
            };
            answer(chosen);
        });
    }
}

/// Dialogs answered by a function, for tests and scripted runs.
pub struct ScriptedDialogs {
    answer: Mutex<Box<dyn FnMut(DialogRequest) -> Vec<PathBuf> + Send>>,
}

impl ScriptedDialogs {
    pub fn new(answer: impl FnMut(DialogRequest) -> Vec<PathBuf> + Send + 'static) -> Self {
        ScriptedDialogs {
            answer: Mutex::new(Box::new(answer)),
        }
    }
}

impl FileDialogs for ScriptedDialogs {
    fn ask(&self, request: DialogRequest, answer: Answer) {
        let chosen = match self.answer.lock() {
            Ok(mut script) => script(request),
            Err(_) => Vec::new(),
        };
        answer(chosen);
    }
}

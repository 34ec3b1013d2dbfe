//! `netc check`'s reading of a user's own data files (`csv(...)`,
//! `idx(...)`): a missing file, a width that does not fit the input, a label
//! outside the classes. It runs when a document is opened or saved, on a
//! thread of its own, as a large file takes longer to read than a request
//! may wait; its result holds while the `data:` source stays the same.

use super::super::check::{data_problem, reads_user_files};
use crossbeam_channel::{Receiver, Sender, unbounded};
use lsp_types::Uri;
use netc::data::DataSpec;
use netc::lang::{Diagnostic, Model};

/// What reading a document's data found.
pub struct DataResult {
    pub uri: Uri,
    /// The source that was read.
    pub spec: DataSpec,
    /// Its problem, if any, at the `data:` line.
    pub diagnostics: Vec<Diagnostic>,
}

/// Data reads under way; their results arrive on `done`.
pub struct DataChecks {
    send: Sender<DataResult>,
    pub done: Receiver<DataResult>,
}

impl DataChecks {
    pub fn new() -> Self {
        let (send, done) = unbounded();
        DataChecks { send, done }
    }

    /// Reads `model`'s data on a thread if it names the user's own files.
    pub fn start(&self, uri: Uri, model: &Model) {
        if !reads_user_files(model) {
            return;
        }
        let model = model.clone();
        let send = self.send.clone();
        std::thread::spawn(move || {
            let diagnostics = data_problem(&model).map_or_else(Vec::new, |d| d.items);
            let _ = send.send(DataResult {
                uri,
                spec: model.train.data,
                diagnostics,
            });
        });
    }
}

//! `sy folder list`.

use serde_json::json;

use crate::cli::{FolderListArgs, Global, ListFormat};
use crate::failure::Failure;
use crate::output;
use crate::suggest::folder_path;

pub(crate) fn list(global: &Global, args: &FolderListArgs) -> Result<(), Failure> {
    let session = super::session(global)?;
    let folders = session.secrets().folders()?;
    let mut sorted: Vec<_> = folders
        .iter()
        .map(|f| (f, folder_path(&folders, f)))
        .collect();
    sorted.sort_by(|a, b| (&a.1, a.0.folder_id).cmp(&(&b.1, b.0.folder_id)));
    match args.format {
        ListFormat::Json => output::print_json(&json!(
            sorted
                .iter()
                .map(|(f, path)| json!({
                    "folder_id": f.folder_id,
                    "parent_id": f.parent_id,
                    "name": f.name,
                    "path": path,
                    "access": f.access,
                }))
                .collect::<Vec<_>>()
        )),
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = sorted
                .iter()
                .map(|(f, path)| {
                    vec![
                        f.folder_id.to_string(),
                        path.clone(),
                        access_name(f).to_owned(),
                    ]
                })
                .collect();
            output::print(&output::table(&["ID", "PATH", "ACCESS"], &rows))
        }
    }
}

/// `read` or `read_write`, as the JSON forms spell it.
pub(crate) fn access_name(folder: &syvault_ureq::FolderInfo) -> &'static str {
    if folder.access.can_write() {
        "read_write"
    } else {
        "read"
    }
}

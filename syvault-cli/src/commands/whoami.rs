//! `sy whoami`: the server, the client id, and the folders this client may read or write.

use serde_json::json;

use crate::cli::{Global, ListFormat, WhoamiArgs};
use crate::failure::Failure;
use crate::output;
use crate::suggest::folder_path;

pub(crate) fn run(global: &Global, args: &WhoamiArgs) -> Result<(), Failure> {
    let session = super::session(global)?;
    let client = session.client();
    let (server, client_id) = (client.server(), client.client_id());
    let folders = session.secrets().folders()?;
    let mut granted: Vec<(String, &'static str, String)> = folders
        .iter()
        .map(|f| {
            (
                folder_path(&folders, f),
                super::folder::access_name(f),
                f.folder_id.to_string(),
            )
        })
        .collect();
    granted.sort();
    match args.format {
        ListFormat::Json => output::print_json(&json!({
            "server": server,
            "client_id": client_id,
            "credentials": session.source.to_string(),
            "folders": granted
                .iter()
                .map(|(path, access, id)| json!({
                    "folder_id": id,
                    "path": path,
                    "access": access,
                }))
                .collect::<Vec<_>>(),
        })),
        ListFormat::Table => {
            let mut text = format!(
                "server       {}\nclient id    {client_id}\ncredentials  {}\n\n",
                output::escape(&server),
                output::escape(&session.source.to_string())
            );
            let rows: Vec<Vec<String>> = granted
                .iter()
                .map(|(path, access, id)| vec![path.clone(), (*access).to_owned(), id.clone()])
                .collect();
            text.push_str(&output::table(&["FOLDER", "ACCESS", "ID"], &rows));
            output::print(&text)
        }
    }
}

//! Files coming from the browser: streamed to disk chunk by chunk (never whole in memory),
//! each in a folder of its own under the run's private folder, and named by an id the server
//! chose. The browser sends files, never paths: a form field that is not a file is refused,
//! and the name it gives a file is only a name (its last part, for display and downloads).

use std::path::{Path, PathBuf};

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use tokio::io::AsyncWriteExt as _;

use super::job::{Job, ID_LEN};
use super::server::Shared;
use super::view::Failure;

/// `--max-upload-mb`'s default: larger than any customer list a spreadsheet holds.
pub const DEFAULT_MAX_MB: u64 = 2048;

/// How the private folders are named: `custbulk-ui-PID-RANDOM`.
const FOLDER_PREFIX: &str = "custbulk-ui-";

/// The run's private folder: under the system's temporary folder, readable by this user only
/// (0700), removed when the run ends. Those of runs that were killed (`kill -9`, a crash, a
/// power cut) are removed first: they hold customer lists.
pub fn private_folder() -> anyhow::Result<tempfile::TempDir> {
    let temp = std::env::temp_dir();
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{FOLDER_PREFIX}{}-", std::process::id());
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let folder = builder
        .tempdir_in(&temp)
        .map_err(|e| anyhow::anyhow!("cannot create a private folder for the uploads: {e}"))?;
    crate::output::remove_stale_folders(&temp, FOLDER_PREFIX, folder.path());
    Ok(folder)
}

/// A fresh job id: 64 random bits in hex.
pub fn new_id() -> String {
    let bits: u64 = rand::random();
    format!("{bits:0width$x}", width = ID_LEN)
}

/// `POST /files`: one file, streamed to `FOLDER/ID/NAME`; then its page.
pub async fn receive(
    State(state): State<Shared>,
    mut form: Multipart,
) -> Result<Response, Failure> {
    let mut job = None;
    while let Some(mut field) = form.next_field().await.map_err(Failure::bad)? {
        let Some(given) = field.file_name().map(str::to_string) else {
            return Err(Failure::refused(
                "the page sends files, never paths or other fields: choose the file itself",
            ));
        };
        if field.name() != Some("file") || job.is_some() {
            return Err(Failure::refused(
                "one file at a time, in the field \"file\"",
            ));
        }
        let id = new_id();
        let dir = state.folder.join(&id);
        let path = dir.join(file_name(&given));
        let stored = async {
            tokio::fs::create_dir(&dir).await?;
            let mut out = tokio::fs::File::create(&path).await?;
            let mut size = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(std::io::Error::other)? {
                size += chunk.len() as u64;
                if size > state.max_upload {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::FileTooLarge,
                        format!(
                            "the file is larger than {} MB (custbulk ui --max-upload-mb N allows more)",
                            state.max_upload >> 20
                        ),
                    ));
                }
                out.write_all(&chunk).await?;
            }
            out.flush().await?;
            Ok(size)
        };
        match stored.await {
            Ok(size) => job = Some(Job::new(id, display_name(&path), path, size)),
            Err(e) => {
                let _ = tokio::fs::remove_dir_all(&dir).await;
                return Err(match e.kind() {
                    std::io::ErrorKind::FileTooLarge => Failure::too_large(e.to_string()),
                    _ => Failure::bad(e),
                });
            }
        }
    }
    let Some(job) = job else {
        return Err(Failure::refused("no file was sent"));
    };
    let id = job.id.clone();
    state.jobs.add(job);
    Ok(Redirect::to(&format!("/files/{id}")).into_response())
}

/// The last part of the name the browser gave, without anything that could climb out of the
/// upload's folder or confuse a terminal: only a name, never a path.
fn file_name(given: &str) -> PathBuf {
    let last = given.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    let clean = clean.trim().trim_start_matches('.');
    if clean.is_empty() {
        PathBuf::from("upload")
    } else {
        PathBuf::from(clean)
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_name_is_only_a_name() {
        assert_eq!(file_name("clients.xlsx"), PathBuf::from("clients.xlsx"));
        assert_eq!(file_name("../../etc/passwd"), PathBuf::from("passwd"));
        assert_eq!(file_name("C:\\Users\\x\\a.csv"), PathBuf::from("a.csv"));
        assert_eq!(file_name(".."), PathBuf::from("upload"));
        assert_eq!(file_name(".bashrc"), PathBuf::from("bashrc"));
        assert_eq!(file_name("a\u{1b}[31m.csv"), PathBuf::from("a[31m.csv"));
        assert_eq!(new_id().len(), ID_LEN);
    }

    #[test]
    #[cfg(unix)]
    fn the_private_folder_is_this_users_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_folder().unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

//! The file as a run sends it: the upload with the page's edits and its mapping file, written
//! into a folder of their own under the work folder (`WORK/runs/NAME-WHEN/`). The import engine
//! then reads them as `custbulk import FILE --map MAPPING` does, and writes its journal and
//! results beside them, so the terminal can resume or undo a run the page started (and the
//! page shows the commands).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::fixed;
use super::job::Snapshot;
use crate::pipeline::Input;

/// A run's folder and what is in it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub dir: PathBuf,
    /// The file the run reads: the upload, edits applied.
    pub file: PathBuf,
    /// Its mapping file, as `--map` reads it.
    pub map: PathBuf,
    /// The header's row, as the page read it.
    header_row: Option<u32>,
}

impl Sent {
    /// Writes the job's file and mapping into a new folder under `work/runs`.
    pub fn write(job: &Snapshot, work: &Path) -> anyhow::Result<Sent> {
        let stem = Path::new(&job.name)
            .file_stem()
            .map_or("customers".into(), |s| s.to_string_lossy().into_owned());
        let stem: String = stem
            .chars()
            .map(|c| match c {
                '/' | '\\' | ':' | '\0' => '_',
                c => c,
            })
            .collect();
        let when = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let dir = new_folder(
            &work.join("runs"),
            &format!("{stem}-{when}-{}", &job.id[..4]),
        )?;
        let (file, _) = fixed::write_fixed_as(job, &dir, &stem)?;
        let table = job.open().map_err(|e| anyhow::anyhow!(job.say(e)))?;
        let mapping = crate::mapping::Mapping::infer(&table.headers, Some(&job.map));
        let map = dir.join("mapping.toml");
        std::fs::write(&map, mapping.to_toml())?;
        Ok(Sent {
            dir,
            file,
            map,
            header_row: job.read.header_row,
        })
    }

    /// The input as the import engine takes it.
    pub fn input(&self) -> Input {
        Input {
            file: self.file.clone(),
            sheet: None,
            header_row: self.header_row,
            encoding: None,
            delimiter: None,
            map: Some(self.map.clone()),
        }
    }

    /// The command that does the same from a terminal, with `more` flags.
    pub fn command(&self, more: &str) -> String {
        let mut line = format!(
            "custbulk import {} --map {}",
            quote(&self.file),
            quote(&self.map)
        );
        if let Some(row) = self.header_row {
            line.push_str(&format!(" --header-row {row}"));
        }
        if !more.is_empty() {
            line.push(' ');
            line.push_str(more);
        }
        line
    }
}

/// A new folder `NAME` in `parent`, or `NAME-2`, `NAME-3`, ... when that one is taken: two plans
/// of a file within a second must not share one, since a run's journal names its file.
fn new_folder(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot make the folder {}", parent.display()))?;
    for n in 1.. {
        let dir = match n {
            1 => parent.join(name),
            n => parent.join(format!("{name}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot make the run's folder {}", dir.display()))
            }
        }
    }
    unreachable!("the loop returns")
}

/// A path as a shell reads it back.
pub fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

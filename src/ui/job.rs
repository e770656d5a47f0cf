//! One file opened in the page, and everything chosen about it: how to read it, the mapping
//! (kept as a mapping file, the very thing `--map` reads), the check of its rows, and the
//! edits made in the grid (an overlay on the file, never written into the upload).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::mapping::{self, MapFile, Mapping};
use crate::read::{self, ReadError, ReadOptions, Row, Table};
use crate::validate::{Problem, ValidateOptions};

use super::check::Check;
use super::plan::{Choice, Planned};
use super::run::Live;

/// Hex digits of a job's id: 64 random bits, so ids cannot be guessed from one another.
pub const ID_LEN: usize = 16;

/// The files opened in this run, in the order they were opened.
#[derive(Default)]
pub(crate) struct Jobs(Mutex<Vec<Entry>>);

/// (id, name, size, job): the first three outside the job's lock, so finding a job never waits
/// for another's work.
type Entry = (String, String, u64, Arc<Mutex<Job>>);

impl Jobs {
    pub fn add(&self, job: Job) {
        let entry = (job.id.clone(), job.name.clone(), job.size);
        let job = Arc::new(Mutex::new(job));
        lock(&self.0).push((entry.0, entry.1, entry.2, job));
    }

    /// The job called `id`; `None` for any other text (a path, a guess).
    pub fn get(&self, id: &str) -> Option<Arc<Mutex<Job>>> {
        lock(&self.0)
            .iter()
            .find(|(i, ..)| i == id)
            .map(|(.., job)| job.clone())
    }

    /// (id, name, size) of each job, in order.
    pub fn list(&self) -> Vec<(String, String, u64)> {
        lock(&self.0)
            .iter()
            .map(|(id, name, size, _)| (id.clone(), name.clone(), *size))
            .collect()
    }
}

/// A poisoned lock means a handler panicked mid-change; the page goes on with what is there.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A cell edited in the grid: (column, text).
pub type CellEdits = BTreeMap<usize, String>;

/// A row edited since the last check of the whole file, checked again alone.
#[derive(Debug, Clone)]
pub struct Rechecked {
    pub cells: Vec<String>,
    /// Its problems now: those of the row alone, then those the last pass found across rows.
    pub problems: Vec<Problem>,
    /// How many of `problems` the row alone has; the rest were found across rows.
    pub alone: usize,
    /// Its problems as the last pass found them (for the counts).
    pub before: Vec<Problem>,
}

/// One file opened in the page.
pub(crate) struct Job {
    pub id: String,
    /// The name the browser gave, for display and downloads only.
    pub name: String,
    /// The upload: `FOLDER/ID/NAME`.
    pub path: PathBuf,
    pub size: u64,
    pub read: ReadOptions,
    /// The columns, defaults, translations and transforms chosen: a mapping file.
    pub map: MapFile,
    pub options: ValidateOptions,
    /// The last check of the whole file, when it is still true to the choices above.
    pub check: Option<Arc<Check>>,
    /// Every cell edited, by row: applied when the file is checked again or written.
    pub edits: BTreeMap<u32, CellEdits>,
    /// Rows edited since the last check, as checked alone.
    pub rechecked: BTreeMap<u32, Rechecked>,
    /// How its rows go to the API.
    pub choice: Choice,
    /// The last plan (of the file as it then was: see [`super::plan::holds`]).
    pub planned: Option<Arc<Planned>>,
    /// The runs of changes started from the page, oldest first.
    pub runs: Vec<Arc<Live>>,
}

impl Job {
    pub fn new(id: String, name: String, path: PathBuf, size: u64) -> Job {
        Job {
            id,
            name,
            path,
            size,
            read: ReadOptions::default(),
            map: MapFile::default(),
            options: ValidateOptions::default(),
            check: None,
            edits: BTreeMap::new(),
            rechecked: BTreeMap::new(),
            choice: Choice::default(),
            planned: None,
            runs: Vec::new(),
        }
    }

    /// Opens the upload as the choices say.
    pub fn open(&self) -> Result<Table, ReadError> {
        open(&self.path, &self.read, &self.map)
    }

    /// The mapping of `headers` with the choices made.
    pub fn mapping(&self, headers: &[String]) -> Mapping {
        Mapping::infer(headers, Some(&self.map))
    }

    /// A message as people should read it: the upload named as they named it, without the
    /// private folder the server keeps it in.
    pub fn say(&self, message: impl std::fmt::Display) -> String {
        say(&self.path, message)
    }

    /// The choices of reading changed: the check, and edits made to rows of another reading,
    /// no longer hold.
    pub fn reading_changed(&mut self) {
        self.check = None;
        self.edits.clear();
        self.rechecked.clear();
        self.set_plan(None);
    }

    /// The mapping changed: the check no longer holds; edits of cells still do.
    pub fn mapping_changed(&mut self) {
        self.check = None;
        self.rechecked.clear();
        self.set_plan(None);
    }

    /// Replaces the last plan. One that no run was started from leaves no folder under
    /// `runs/`: its file and mapping were written for it alone (a run's folder stays, with its
    /// journal for undo).
    pub fn set_plan(&mut self, plan: Option<Arc<Planned>>) {
        let old = std::mem::replace(&mut self.planned, plan);
        if let Some(old) = old.filter(|p| !p.used.load(Ordering::Acquire)) {
            if let Err(e) = std::fs::remove_dir_all(&old.sent.dir) {
                crate::debug!("cannot remove {}: {e}", old.sent.dir.display());
            }
        }
    }

    /// What it takes to read the job on another thread: the file, the choices, the edits.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            path: self.path.clone(),
            read: self.read.clone(),
            map: self.map.clone(),
            options: self.options.clone(),
            edits: Arc::new(self.edits.clone()),
        }
    }
}

/// A job's choices and edits, taken to check or write it without holding its lock.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub id: String,
    pub name: String,
    pub path: PathBuf,
    pub read: ReadOptions,
    pub map: MapFile,
    pub options: ValidateOptions,
    pub edits: Arc<BTreeMap<u32, CellEdits>>,
}

impl Snapshot {
    pub fn open(&self) -> Result<Table, ReadError> {
        open(&self.path, &self.read, &self.map)
    }

    /// Applies the edits to rows as they are read (see [`crate::pipeline::Amend`]).
    pub fn amend(&self) -> impl FnMut(&mut Row) + Send + 'static {
        let edits = self.edits.clone();
        move |row: &mut Row| apply(&edits, row)
    }

    /// The messages of the engines, without the private folder (see [`Job::say`]).
    pub fn say(&self, message: impl std::fmt::Display) -> String {
        say(&self.path, message)
    }
}

/// Opens an upload as the choices say, finding the header as the mapping file helps.
fn open(path: &Path, read: &ReadOptions, map: &MapFile) -> Result<Table, ReadError> {
    read::open(path, read, &|cells| {
        mapping::is_header_with(cells, Some(map))
    })
}

/// `message` without the folder of the upload at `path`.
fn say(path: &Path, message: impl std::fmt::Display) -> String {
    let folder = path.parent().unwrap_or(Path::new(""));
    let prefix = format!("{}{}", folder.display(), std::path::MAIN_SEPARATOR);
    message.to_string().replace(&prefix, "")
}

/// Sets the edited cells of `row`, if it has any.
pub fn apply(edits: &BTreeMap<u32, CellEdits>, row: &mut Row) {
    if let Some(cells) = edits.get(&row.number) {
        for (&col, text) in cells {
            row.cells.set(col, |c| c.push_str(text));
        }
    }
}

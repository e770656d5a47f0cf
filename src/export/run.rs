//! Running an export: options checked into a [`Job`] before any request, the pager and the
//! writer thread wired together, the table pass for CSV and XLSX, the atomic commit, and the
//! summary.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::manifest::{self, Manifest};
use super::pager::{self, Batch, PagingError, Report};
use super::write::{
    directory_of, sync_directory, Columns, CsvWriter, JsonWriter, KeyCollector, NdjsonWriter,
    RecordWriter, TempFile, Written, XlsxWriter,
};
use super::{field_list, format_of, Format, Options, Progress};
use crate::api::{Client, ListQuery, Record, Traffic};
use crate::error::usage;

/// An export, checked and planned.
#[derive(Debug, Clone)]
pub struct Job {
    pub file: PathBuf,
    pub manifest: PathBuf,
    pub format: Format,
    pub bom: bool,
    /// The `--fields` list, split.
    pub fields: Option<Vec<String>>,
    pub paging: pager::Plan,
    pub query: manifest::Query,
    /// Keep a backup that ends short of the server's total (see [`short_of_total`]).
    pub allow_incomplete: bool,
}

impl Job {
    /// Checks the options; every mistake here is a usage error (exit 2), found before any
    /// request.
    pub fn new(args: &Options, base_url: &str) -> anyhow::Result<Job> {
        let format = format_of(&args.file, args.format)?;
        if args.bom && format != Format::Csv {
            return Err(usage(format!(
                "--bom only applies to CSV, and {} is {}",
                args.file.display(),
                format.name()
            )));
        }
        if args.file.is_dir() {
            return Err(usage(format!(
                "{} is a directory: give a file name such as {}/customers.csv",
                args.file.display(),
                args.file.display()
            )));
        }
        let dir = directory_of(&args.file);
        if !dir.is_dir() {
            return Err(usage(format!(
                "cannot write {}: the directory {} does not exist",
                args.file.display(),
                dir.display()
            )));
        }
        let sort_by = Some(args.sort_by.trim().to_string()).filter(|s| !s.is_empty());
        let limit = args.max.map_or(args.page_size, |m| m.min(args.page_size));
        let query = ListQuery {
            limit: Some(limit),
            page: None,
            sort_by: sort_by.clone(),
            order: Some(args.order.as_str().to_string()),
            fields: args.fields.clone(),
            p: args.p.clone(),
            q: args.q.clone(),
        };
        Ok(Job {
            file: args.file.clone(),
            manifest: manifest::path_for(&args.file),
            format,
            bom: args.bom,
            fields: args.fields.as_deref().map(field_list),
            paging: pager::Plan {
                query,
                concurrency: args.concurrency,
                max_records: args.max,
                max_pages: args.max_pages,
                collect_keys: format.is_table(),
            },
            query: manifest::Query {
                base_url: base_url.to_string(),
                sort_by: sort_by.unwrap_or_default(),
                order: args.order.as_str().to_string(),
                page_size: limit,
                fields: args.fields.clone(),
                p: args.p.clone(),
                q: args.q.clone(),
                max: args.max,
            },
            allow_incomplete: args.allow_incomplete,
        })
    }
}

/// How many records an export ends short of the server's own total (at the end, and within
/// `--max`): `None` when it is whole, or the server tells no total.
fn short_of_total(report: &Report, max: Option<u64>) -> Option<(u64, u64)> {
    let total = report.server_total?;
    let expected = max.map_or(total, |m| m.min(total));
    (report.records < expected).then_some((report.records, expected))
}

/// Where records go while the pages arrive.
enum Sink {
    /// JSON: straight into the target's temporary file.
    Json(Box<JsonWriter>),
    /// NDJSON: straight into the target's temporary file.
    Ndjson(Box<NdjsonWriter>),
    /// CSV and XLSX: spooled as NDJSON while the key set is gathered.
    Spool {
        writer: Box<NdjsonWriter>,
        keys: KeyCollector,
    },
}

impl Sink {
    fn take(&mut self, batch: Batch) -> anyhow::Result<()> {
        match self {
            Sink::Json(writer) => writer.write_lines(&batch.lines),
            Sink::Ndjson(writer) => writer.write_lines(&batch.lines, batch.records),
            Sink::Spool { writer, keys } => {
                keys.add_keys(batch.keys);
                writer.write_lines(&batch.lines, batch.records)
            }
        }
    }
}

/// Runs one export to its end: the file and its manifest under their final names, or an error
/// and no new file.
pub async fn export(
    client: &Client,
    job: &Job,
    progress: &Progress,
    cancel: watch::Receiver<bool>,
) -> anyhow::Result<Summary> {
    let started_at = now();
    let clock = Instant::now();
    let data = TempFile::beside(&job.file, "tmp");
    let spool = job
        .format
        .is_table()
        .then(|| TempFile::beside(&job.file, "spool"));
    let sink = match (&spool, job.format) {
        (Some(spool), _) => Sink::Spool {
            writer: Box::new(NdjsonWriter::create(spool.path())?),
            keys: KeyCollector::default(),
        },
        (None, Format::Json) => Sink::Json(Box::new(JsonWriter::create(data.path())?)),
        (None, _) => Sink::Ndjson(Box::new(NdjsonWriter::create(data.path())?)),
    };

    // Pages wait in the pager's reorder buffer; the channel only smooths the hand-over.
    let (tx, rx) = mpsc::channel::<Batch>(2);
    let writer_cancel = cancel.clone();
    let writer = tokio::task::spawn_blocking(move || drain(rx, sink, &writer_cancel));
    let paged = pager::fetch_all(client, &job.paging, tx, progress, cancel.clone()).await;
    let fetch_secs = clock.elapsed().as_secs_f64();
    let drained = writer
        .await
        .map_err(|e| anyhow!("the file writer failed: {e}"))?;
    let (report, sink) = match (paged, drained) {
        (Ok(report), Ok(sink)) => (report, sink),
        // The pager only stops for the writer when the writer failed: its error is the cause.
        (Ok(_) | Err(PagingError::WriterGone), Err(e)) => return Err(e),
        (Err(e), _) => return Err(e.into()),
    };
    let short = short_of_total(&report, job.paging.max_records);
    if let (Some((records, expected)), false) = (short, job.allow_incomplete) {
        anyhow::bail!(
            "the server's list gave {records} customers where it says it has {expected}: the \
             backup would be incomplete, so none is written. Run the export again; if it \
             persists, the server's paging is broken (`custbulk check` looks at it). \
             --allow-incomplete keeps what was read, marked incomplete in its manifest"
        );
    }

    let table = TableJob {
        format: job.format,
        target: data.path().to_path_buf(),
        spool: spool.as_ref().map(|s| s.path().to_path_buf()),
        dir: directory_of(&job.file).to_path_buf(),
        bom: job.bom,
        fields: job.fields.clone(),
        progress: progress.clone(),
        cancel: cancel.clone(),
    };
    let (written, columns) = tokio::task::spawn_blocking(move || table.complete(sink))
        .await
        .map_err(|e| anyhow!("the file writer failed: {e}"))??;
    if written.records != report.records {
        anyhow::bail!(
            "{} records were fetched but {} written",
            report.records,
            written.records
        );
    }
    drop(spool);

    let manifest = Manifest {
        manifest_version: manifest::VERSION,
        file: job
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        format: job.format,
        records: written.records,
        bytes: written.bytes,
        sha256: written.sha256.clone(),
        columns: columns.map(|c| c.names().to_vec()),
        bom: job.bom,
        query: job.query.clone(),
        pages: report.pages,
        duplicates_skipped: report.duplicates,
        server_total: report.server_total,
        complete: short.is_none(),
        started_at,
        finished_at: now(),
        custbulk_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    commit(data, &job.file, &manifest, &job.manifest)?;
    crate::debug!(
        "Fetched {} pages in {fetch_secs:.2} s; the file was complete {:.2} s later.",
        report.pages,
        clock.elapsed().as_secs_f64() - fetch_secs
    );
    let mut summary = Summary::new(job, &report, &written, client, clock);
    summary.fetch_secs = fetch_secs;
    summary.complete = short.is_none();
    Ok(summary)
}

/// Writes batches until the pager is done (the channel closes), then hands the sink back so
/// the caller decides whether the export completed.
fn drain(
    mut rx: mpsc::Receiver<Batch>,
    mut sink: Sink,
    cancel: &watch::Receiver<bool>,
) -> anyhow::Result<Sink> {
    while let Some(batch) = rx.blocking_recv() {
        if *cancel.borrow() {
            anyhow::bail!("interrupted");
        }
        sink.take(batch)?;
    }
    Ok(sink)
}

/// The second half of an export, on a blocking thread.
struct TableJob {
    format: Format,
    target: PathBuf,
    spool: Option<PathBuf>,
    dir: PathBuf,
    bom: bool,
    fields: Option<Vec<String>>,
    progress: Progress,
    cancel: watch::Receiver<bool>,
}

impl TableJob {
    /// Finishes a direct writer, or writes the table from the spool: returns what was written
    /// and, for a table, its columns.
    fn complete(self, sink: Sink) -> anyhow::Result<(Written, Option<Columns>)> {
        let (writer, keys) = match sink {
            Sink::Json(writer) => return Ok((writer.finish()?, None)),
            Sink::Ndjson(writer) => return Ok((writer.finish()?, None)),
            Sink::Spool { writer, keys } => (writer, keys),
        };
        let spooled = writer.finish()?;
        let spool = self.spool.as_deref().expect("a spool for a table");
        let columns = Columns::decide(&keys, self.fields.as_deref());
        let mut table: Box<dyn RecordWriter> = match self.format {
            Format::Xlsx => Box::new(XlsxWriter::create(
                &self.target,
                columns.clone(),
                &self.dir,
            )?),
            _ => Box::new(CsvWriter::create(&self.target, columns.clone(), self.bom)?),
        };
        self.progress.writing(spooled.records, self.format.name());
        let read_error = |e: std::io::Error| {
            anyhow::Error::new(e).context(format!("cannot read back {}", spool.display()))
        };
        let mut reader =
            BufReader::with_capacity(256 * 1024, File::open(spool).map_err(read_error)?);
        let mut line = String::new();
        let mut rows = 0u64;
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(read_error)? == 0 {
                break;
            }
            let record: Record = serde_json::from_str(&line)
                .with_context(|| format!("{}: line {} is damaged", spool.display(), rows + 1))?;
            table.write(&record)?;
            rows += 1;
            if rows.is_multiple_of(1024) {
                self.progress.rows(1024);
                if *self.cancel.borrow() {
                    anyhow::bail!("interrupted");
                }
            }
        }
        Ok((table.finish()?, Some(columns)))
    }
}

/// Puts the export and its manifest under their final names, the export first: until then
/// only hidden temporary files exist, and an earlier backup under the same name is untouched.
fn commit(
    data: TempFile,
    file: &Path,
    manifest: &Manifest,
    manifest_path: &Path,
) -> anyhow::Result<()> {
    let manifest_tmp = TempFile::beside(manifest_path, "tmp");
    let write = || -> std::io::Result<()> {
        let mut out = File::create(manifest_tmp.path())?;
        out.write_all(&manifest.to_json())?;
        out.sync_all()
    };
    write().with_context(|| format!("cannot write {}", manifest_tmp.path().display()))?;
    data.persist(file)?;
    if let Err(e) = manifest_tmp.persist(manifest_path) {
        // A backup without its manifest cannot be proved whole: take it back.
        let _ = std::fs::remove_file(file);
        return Err(e);
    }
    sync_directory(directory_of(file));
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What an export did, printed for people or as JSON (`--output json`).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub file: String,
    pub manifest: String,
    pub format: Format,
    pub records: u64,
    pub pages: u64,
    pub bytes: u64,
    pub sha256: String,
    pub duplicates_skipped: u64,
    pub records_without_id: u64,
    pub server_total: Option<u64>,
    pub page_size: u64,
    pub concurrent: bool,
    #[serde(flatten)]
    pub traffic: Traffic,
    pub duration_secs: f64,
    /// The part of `duration_secs` spent fetching pages (the rest completes the file).
    pub fetch_secs: f64,
    pub records_per_sec: f64,
    /// False for a backup that ends short of the server's total, kept by `--allow-incomplete`.
    pub complete: bool,
    #[serde(skip)]
    max: Option<u64>,
}

impl Summary {
    fn new(
        job: &Job,
        report: &Report,
        written: &Written,
        client: &Client,
        clock: Instant,
    ) -> Summary {
        let seconds = clock.elapsed().as_secs_f64();
        Summary {
            file: job.file.display().to_string(),
            manifest: job.manifest.display().to_string(),
            format: job.format,
            records: written.records,
            pages: report.pages,
            bytes: written.bytes,
            sha256: written.sha256.clone(),
            duplicates_skipped: report.duplicates,
            records_without_id: report.without_id,
            server_total: report.server_total,
            page_size: report.page_size,
            concurrent: report.concurrent,
            traffic: client.traffic(),
            duration_secs: seconds,
            fetch_secs: seconds,
            records_per_sec: written.records as f64 / seconds.max(1e-9),
            complete: true,
            max: job.paging.max_records,
        }
    }

    /// Says what a person should know about the snapshot's consistency.
    pub fn warn(&self) {
        if self.duplicates_skipped > 0 {
            crate::info!(
                "{} records appeared on two pages (the list changed during the export); each was written once.",
                self.duplicates_skipped
            );
        }
        if self.records_without_id > 0 {
            crate::warn!(
                "{} records carry no `_id` or `id`, so they could not be checked for duplicates.",
                self.records_without_id
            );
        }
        if let Some(total) = self.server_total {
            let expected = self.max.map_or(total, |m| m.min(total));
            if !self.complete {
                crate::warn!(
                    "INCOMPLETE backup (--allow-incomplete): the server says it has {expected} \
                     customers but its list gave {}; the manifest says so, and `custbulk \
                     verify` reports it.",
                    self.records
                );
            } else if self.records != expected {
                crate::warn!(
                    "the server reported {total} records at the end but {} were exported: \
                     customers were added during the export; run it again for an exact \
                     snapshot.",
                    self.records
                );
            }
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Exported {} customers to {} ({}, {} bytes) in {:.1} s: {} page{}, {:.0} records/s.",
            self.records,
            self.file,
            self.format.name(),
            self.bytes,
            self.duration_secs,
            self.pages,
            if self.pages == 1 { "" } else { "s" },
            self.records_per_sec
        )?;
        write!(f, "{}", self.traffic)?;
        writeln!(f, "  sha256   {}", self.sha256)?;
        writeln!(
            f,
            "  manifest {} (check later with: custbulk verify {})",
            self.manifest, self.file
        )
    }
}

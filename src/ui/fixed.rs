//! The files a person takes away: the fixed file (the upload with the page's edits, in its own
//! format where custbulk writes it) and the annotated workbook (the same pass as `validate
//! --annotate`, edits applied). Each is written to the private folder, then streamed to the
//! browser, never held whole in memory.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::{self, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncReadExt as _;

use super::job::{lock, Snapshot};
use super::server::Shared;
use super::view::Failure;
use crate::annotate::Annotator;
use crate::pipeline::Pipeline;
use crate::read::{Format, Row};
use crate::validate::Checked;

/// What the fixed file is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A CSV in, a CSV out with the same delimiter (UTF-8 with a BOM, which Excel needs to
    /// read it as UTF-8); JSON and NDJSON too, as their cells are text by now.
    Csv,
    /// Any workbook in (xlsx, xlsm, xlsb, xls, ods), an XLSX out: custbulk writes no other
    /// workbook, and a CSV would lose what a workbook keeps (`01000` stays text).
    Xlsx,
}

impl Written {
    pub fn of(format: Format) -> Written {
        match format {
            Format::Csv | Format::Json | Format::Ndjson => Written::Csv,
            Format::Xlsx | Format::Xlsb | Format::Xls | Format::Ods => Written::Xlsx,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Written::Csv => "csv",
            Written::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Written::Csv => "text/csv; charset=utf-8",
            Written::Xlsx => XLSX,
        }
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `NAME.fixed.EXT` or `NAME.annotated.xlsx` for the upload called `name`.
pub fn download_name(name: &str, what: &str, ext: &str) -> String {
    let stem = Path::new(name)
        .file_stem()
        .map_or("customers".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}.{what}.{ext}")
}

/// Writes the upload with its edits into `dir`; returns the file and what it is.
pub fn write_fixed(job: &Snapshot, dir: &Path) -> anyhow::Result<(PathBuf, Written)> {
    write_fixed_as(job, dir, &format!("{}.fixed", job.id))
}

/// Writes the upload with its edits into `dir` as `STEM.EXT` (the extension of what it is).
pub fn write_fixed_as(
    job: &Snapshot,
    dir: &Path,
    stem: &str,
) -> anyhow::Result<(PathBuf, Written)> {
    let mut table = job.open().map_err(|e| anyhow::anyhow!(job.say(e)))?;
    let written = Written::of(table.format);
    let path = dir.join(format!("{stem}.{}", written.extension()));
    let (delimiter, header_row) = (table.delimiter.unwrap_or(b','), table.header_row.max(1) - 1);
    let (headers, sheet_name) = (table.headers.clone(), table.sheet.clone());
    let mut amend = job.amend();
    let mut row = Row::new();
    let mut next = |row: &mut Row| -> anyhow::Result<bool> {
        let more = table
            .next_row(row)
            .map_err(|e| anyhow::anyhow!(job.say(e)))?;
        if more {
            amend(row);
        }
        Ok(more)
    };
    match written {
        Written::Csv => {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            std::io::Write::write_all(&mut out, "\u{feff}".as_bytes())?;
            let mut csv = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_writer(out);
            csv.write_record(&headers)?;
            while next(&mut row)? {
                csv.write_record(row.cells.iter())?;
            }
            csv.flush()?;
        }
        Written::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            book.set_tempdir(dir)?;
            let sheet = book.add_worksheet_with_constant_memory()?;
            if let Some(name) = &sheet_name {
                // A name Excel refuses (too long, odd characters) leaves the default.
                let _ = sheet.set_name(name);
            }
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, h) in headers.iter().enumerate() {
                sheet.write_string_with_format(header_row, column(c)?, h, &bold)?;
            }
            while next(&mut row)? {
                let r = row
                    .number
                    .checked_sub(1)
                    .context("a row before the first")?;
                for (c, cell) in row.cells.iter().enumerate() {
                    if !cell.is_empty() {
                        sheet
                            .write_string(r, column(c)?, cell)
                            .with_context(|| format!("row {}, column {}", row.number, c + 1))?;
                    }
                }
            }
            book.save(&path)?;
        }
    }
    Ok((path, written))
}

fn column(c: usize) -> anyhow::Result<u16> {
    u16::try_from(c)
        .ok()
        .filter(|c| *c < 16_384)
        .context("more columns than an Excel sheet holds")
}

/// Writes the annotated workbook of the upload with its edits, checked again whole, as
/// `custbulk validate --annotate` writes it.
pub fn write_annotated(job: &Snapshot, dir: &Path) -> anyhow::Result<(PathBuf, Written)> {
    let path = dir.join(format!("{}.annotated.xlsx", job.id));
    let table = job.open().map_err(|e| anyhow::anyhow!(job.say(e)))?;
    let amend = Box::new(job.amend());
    let mut pipeline = Pipeline::from_table_amended(table, Some(&job.map), &job.options, amend)
        .map_err(|e| anyhow::anyhow!(job.say(format!("{e:#}"))))?;
    let mut out = Annotator::create(&path, pipeline.headers(), false)?;
    out.match_source(pipeline.source());
    out.right_to_left(pipeline.mapping().right_to_left_columns());
    let mut row = Checked::new();
    while pipeline
        .next(&mut row)
        .map_err(|e| anyhow::anyhow!(job.say(e)))?
    {
        out.row(row.row, &row.cells, &row.problems, None)?;
    }
    out.finish()?;
    Ok((path, Written::Xlsx))
}

/// `Content-Disposition` for a download called `name` (any characters: the plain form keeps
/// the ASCII ones, the RFC 5987 form all).
pub fn attachment(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

/// Streams the file at `path` as the download `name`, in pieces, and removes it: the open file
/// stays readable until the last piece is sent.
pub async fn send(path: &Path, name: &str, kind: &'static str) -> anyhow::Result<Response> {
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let _ = tokio::fs::remove_file(path).await;
    let pieces = futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0; 64 << 10];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, attachment(name)),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(pieces),
    )
        .into_response())
}

/// `GET /files/ID/fixed`: the upload with the edits, streamed.
pub async fn download_fixed(
    state: State<Shared>,
    id: extract::Path<String>,
) -> Result<Response, Failure> {
    download(state, id, "fixed", write_fixed).await
}

/// `GET /files/ID/annotated`: the annotated workbook, edits applied, checked whole.
pub async fn download_annotated(
    state: State<Shared>,
    id: extract::Path<String>,
) -> Result<Response, Failure> {
    download(state, id, "annotated", write_annotated).await
}

/// Writes a download of the job with `write` (away from the server's threads), then streams
/// it as `NAME.WHAT.EXT`.
async fn download(
    State(state): State<Shared>,
    extract::Path(id): extract::Path<String>,
    what: &str,
    write: fn(&Snapshot, &Path) -> anyhow::Result<(PathBuf, Written)>,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let snapshot = lock(&job).snapshot();
    let folder = state.folder.clone();
    let name = snapshot.name.clone();
    let (path, written) = tokio::task::spawn_blocking(move || write(&snapshot, &folder))
        .await
        .map_err(Failure::failed)?
        .map_err(|e| Failure::failed(format!("{e:#}")))?;
    let name = download_name(&name, what, written.extension());
    send(&path, &name, written.content_type())
        .await
        .map_err(Failure::failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_keeps_its_name_in_both_forms() {
        assert_eq!(
            attachment("clients été.fixed.csv"),
            "attachment; filename=\"clients _t_.fixed.csv\"; filename*=UTF-8''clients%20%C3%A9t%C3%A9.fixed.csv"
        );
        assert_eq!(download_name("a.b.xlsx", "fixed", "xlsx"), "a.b.fixed.xlsx");
    }
}

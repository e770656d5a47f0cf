//! CSV: UTF-8, a header row of API field names, one record per row, written as an importer
//! reads it back: booleans `true`/`false`, integers plain, `contacts` as JSON text, strings
//! exactly as stored. `--bom` puts a UTF-8 byte-order mark first for Excel.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{close, output, write_error, Cell, Columns, Output, RecordWriter, Written};
use crate::api::Record;

pub struct CsvWriter {
    out: csv::Writer<Output>,
    path: PathBuf,
    columns: Columns,
    /// Reused for numbers and JSON text, so no cell allocates.
    scratch: Vec<u8>,
    records: u64,
}

impl CsvWriter {
    pub fn create(path: &Path, columns: Columns, bom: bool) -> anyhow::Result<CsvWriter> {
        let mut out = output(path)?;
        if bom {
            out.write_all("\u{feff}".as_bytes())
                .map_err(|e| write_error(path, e))?;
        }
        let mut out = csv::WriterBuilder::new()
            .buffer_capacity(64 * 1024)
            .from_writer(out);
        out.write_record(columns.names())
            .map_err(|e| csv_error(path, e))?;
        Ok(CsvWriter {
            out,
            path: path.to_path_buf(),
            columns,
            scratch: Vec::with_capacity(256),
            records: 0,
        })
    }
}

impl RecordWriter for CsvWriter {
    fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        for name in self.columns.names() {
            let result = match Cell::of(record.get(name)) {
                Cell::Empty => self.out.write_field(b""),
                Cell::Text(s) => self.out.write_field(s),
                Cell::Bool(b) => self.out.write_field(if b { "true" } else { "false" }),
                Cell::Number(n) => {
                    self.scratch.clear();
                    let _ = write!(self.scratch, "{n}");
                    self.out.write_field(&self.scratch)
                }
                Cell::Json(v) => {
                    self.scratch.clear();
                    serde_json::to_writer(&mut self.scratch, v)?;
                    self.out.write_field(&self.scratch)
                }
            };
            result.map_err(|e| csv_error(&self.path, e))?;
        }
        self.out
            .write_record(None::<&[u8]>)
            .map_err(|e| csv_error(&self.path, e))?;
        self.records += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<Written> {
        let out = self
            .out
            .into_inner()
            .map_err(|e| write_error(&self.path, e.into_error()))?;
        let (bytes, sha256) = close(out, &self.path)?;
        Ok(Written {
            records: self.records,
            bytes,
            sha256,
        })
    }
}

fn csv_error(path: &Path, err: csv::Error) -> anyhow::Error {
    anyhow::Error::new(err).context(format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_written_as_an_importer_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let columns = Columns::from_names(
            [
                "_id",
                "isCompany",
                "capital",
                "zipCode",
                "contacts",
                "street2",
            ]
            .map(String::from)
            .to_vec(),
        );
        let mut writer = Box::new(CsvWriter::create(&path, columns, true).unwrap());
        let record = json!({"_id": "a1", "isCompany": false, "capital": 2000000, "zipCode": "01000",
            "contacts": [{"name": "Jo, \"le\" chef"}], "street2": null});
        writer.write(record.as_object().unwrap()).unwrap();
        let written = writer.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "\u{feff}_id,isCompany,capital,zipCode,contacts,street2\n\
             a1,false,2000000,01000,\"[{\"\"name\"\":\"\"Jo, \\\"\"le\\\"\" chef\"\"}]\",\n"
        );
        assert_eq!(written.records, 1);
        assert_eq!(written.bytes, text.len() as u64);
    }
}

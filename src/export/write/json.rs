//! JSON (one array, streamed) and NDJSON (one record per line): records exactly as the API
//! returned them, keys in the server's order.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{close, output, write_error, Output, RecordWriter, Written};
use crate::api::Record;

/// One JSON object per line.
pub struct NdjsonWriter {
    out: Output,
    path: PathBuf,
    records: u64,
}

impl NdjsonWriter {
    pub fn create(path: &Path) -> anyhow::Result<NdjsonWriter> {
        Ok(NdjsonWriter {
            out: output(path)?,
            path: path.to_path_buf(),
            records: 0,
        })
    }
}

impl NdjsonWriter {
    /// Appends lines already serialised (each a record ending in `\n`).
    pub fn write_lines(&mut self, lines: &[u8], records: u64) -> anyhow::Result<()> {
        self.out
            .write_all(lines)
            .map_err(|e| write_error(&self.path, e))?;
        self.records += records;
        Ok(())
    }
}

impl RecordWriter for NdjsonWriter {
    fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, record)
            .map_err(|e| write_error(&self.path, e.into()))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| write_error(&self.path, e))?;
        self.records += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<Written> {
        let (bytes, sha256) = close(self.out, &self.path)?;
        Ok(Written {
            records: self.records,
            bytes,
            sha256,
        })
    }
}

/// One JSON array, one record per line inside it, written as the records arrive.
pub struct JsonWriter {
    out: Output,
    path: PathBuf,
    records: u64,
}

impl JsonWriter {
    pub fn create(path: &Path) -> anyhow::Result<JsonWriter> {
        let mut out = output(path)?;
        out.write_all(b"[").map_err(|e| write_error(path, e))?;
        Ok(JsonWriter {
            out,
            path: path.to_path_buf(),
            records: 0,
        })
    }
}

impl JsonWriter {
    fn separate(&mut self) -> anyhow::Result<()> {
        let separator: &[u8] = if self.records == 0 { b"\n" } else { b",\n" };
        self.records += 1;
        self.out
            .write_all(separator)
            .map_err(|e| write_error(&self.path, e))
    }

    /// Appends records already serialised as NDJSON lines, as array elements.
    pub fn write_lines(&mut self, lines: &[u8]) -> anyhow::Result<()> {
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            self.separate()?;
            self.out
                .write_all(line)
                .map_err(|e| write_error(&self.path, e))?;
        }
        Ok(())
    }
}

impl RecordWriter for JsonWriter {
    fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        self.separate()?;
        serde_json::to_writer(&mut self.out, record).map_err(|e| write_error(&self.path, e.into()))
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<Written> {
        let end: &[u8] = if self.records == 0 { b"]\n" } else { b"\n]\n" };
        self.out
            .write_all(end)
            .map_err(|e| write_error(&self.path, e))?;
        let (bytes, sha256) = close(self.out, &self.path)?;
        Ok(Written {
            records: self.records,
            bytes,
            sha256,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn write_all(writer: Box<dyn RecordWriter>, records: &[Value]) -> Written {
        let mut writer = writer;
        for r in records {
            writer.write(r.as_object().unwrap()).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn json_is_one_array_and_ndjson_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let records = [json!({"_id": "b", "a": 1}), json!({"_id": "c", "z": [1]})];
        let json_path = dir.path().join("x.json");
        let written = write_all(Box::new(JsonWriter::create(&json_path).unwrap()), &records);
        assert_eq!(written.records, 2);
        let back: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        assert_eq!(back, records);

        let empty = dir.path().join("e.json");
        write_all(Box::new(JsonWriter::create(&empty).unwrap()), &[]);
        assert_eq!(std::fs::read_to_string(&empty).unwrap(), "[]\n");

        let nd = dir.path().join("x.ndjson");
        write_all(Box::new(NdjsonWriter::create(&nd).unwrap()), &records);
        let ndjson = std::fs::read_to_string(&nd).unwrap();
        assert_eq!(
            ndjson,
            "{\"_id\":\"b\",\"a\":1}\n{\"_id\":\"c\",\"z\":[1]}\n"
        );

        // Lines already serialised come out the same.
        let lines_path = dir.path().join("l.json");
        let mut writer = JsonWriter::create(&lines_path).unwrap();
        writer.write_lines(ndjson.as_bytes()).unwrap();
        assert_eq!(Box::new(writer).finish().unwrap().records, 2);
        assert_eq!(
            std::fs::read(&lines_path).unwrap(),
            std::fs::read(&json_path).unwrap()
        );
    }
}

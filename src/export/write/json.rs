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

impl RecordWriter for JsonWriter {
    fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        let separator: &[u8] = if self.records == 0 { b"\n" } else { b",\n" };
        self.out
            .write_all(separator)
            .map_err(|e| write_error(&self.path, e))?;
        serde_json::to_writer(&mut self.out, record)
            .map_err(|e| write_error(&self.path, e.into()))?;
        self.records += 1;
        Ok(())
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
        assert_eq!(
            std::fs::read_to_string(&nd).unwrap(),
            "{\"_id\":\"b\",\"a\":1}\n{\"_id\":\"c\",\"z\":[1]}\n"
        );
    }
}

//! The index of the server's whole list: every customer findable by each match key of the run
//! and by each probe of likely duplicates, in little memory.
//!
//! A million parsed records take gigabytes, so the records are not kept in memory: each goes,
//! as the JSON the list gave, to a spool file beside the input (removed at the end), and the
//! index keeps where it starts (8 bytes). Each key and probe has a [`Table`]: a 32-bit hash of
//! the value → the newest record with it, and per record the next one with the same hash (a
//! chain, 4 bytes a record). A lookup walks the chain and reads each record back from the spool
//! (from the page cache, in microseconds) to confirm its value, so a hash shared by two values
//! costs a read, never a wrong match. Two keys and the four probes of a million customers cost
//! about 150 MB; the benchmark in `benches/matching.rs` measures it.

use std::fs::{File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use hashbrown::{DefaultHashBuilder, HashMap};

use super::duplicates::{Likeness, Probe, Why};
use super::key::Keys;
use super::Found;
use crate::api::{record_id, Record};
use crate::hash::BuildPrehashed;
use crate::output::TempFile;

/// The end of a chain.
const NONE: u32 = u32::MAX;
/// Records read back at most per chain: a value shared by more customers than this (a SIREN of
/// a company with thousands of establishments) is seen through its first ones.
const CHAIN_READS: usize = 100;

/// What the index is built for.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// The match keys rows are looked up by (`None` when no row is).
    pub keys: Option<Keys>,
    /// Whether rows that would create a customer are checked for likely duplicates.
    pub likely: bool,
}

impl Needs {
    /// What a run needs, or `None` when a search per row will do: a small file (`large` is
    /// false) whose rows never create a customer (`creates`) and whose keys a server's search
    /// finds as typed. Rows that create are checked for likely duplicates, which only an index
    /// sees; `matches` says whether rows are looked up by `keys` at all.
    pub fn for_run(creates: bool, matches: bool, keys: &Keys, large: bool) -> Option<Needs> {
        if !creates && !large && keys.all_exact() {
            return None;
        }
        Some(Needs {
            keys: matches.then(|| keys.clone()),
            likely: creates,
        })
    }

    /// What the index is for, in a sentence's words.
    pub fn purpose(&self) -> String {
        match (&self.keys, self.likely) {
            (Some(keys), true) => format!("match rows by {keys} and find likely duplicates"),
            (Some(keys), false) => format!("match rows by {keys}"),
            (None, _) => "find likely duplicates".into(),
        }
    }
}

/// Customers by one key or probe: hash → newest record, record → next with the same hash.
#[derive(Default)]
struct Table {
    heads: HashMap<u32, u32, BuildPrehashed>,
    next: Vec<u32>,
}

impl Table {
    fn insert(&mut self, tag: u32, record: u32) {
        if self.next.len() <= record as usize {
            self.next.resize(record as usize + 1, NONE);
        }
        let head = self.heads.entry(tag).or_insert(NONE);
        self.next[record as usize] = *head;
        *head = record;
    }

    /// The records whose value hashes to `tag`, newest first.
    fn chain(&self, tag: u32) -> impl Iterator<Item = u32> + '_ {
        let first = self.heads.get(&tag).copied();
        std::iter::successors(first, |&r| {
            Some(self.next[r as usize]).filter(|&n| n != NONE)
        })
        .take(CHAIN_READS)
    }
}

/// The records, as the list gave them, in a file beside the input.
struct Spool {
    file: File,
    writer: Option<BufWriter<File>>,
    starts: Vec<u64>,
    len: u64,
    _temp: TempFile,
}

impl Spool {
    fn create(beside: &Path) -> anyhow::Result<Spool> {
        let temp = TempFile::beside(beside, "index");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(temp.path())
            .with_context(|| format!("cannot create {}", temp.path().display()))?;
        let writer = BufWriter::with_capacity(256 * 1024, file.try_clone()?);
        Ok(Spool {
            file,
            writer: Some(writer),
            starts: Vec::new(),
            len: 0,
            _temp: temp,
        })
    }

    fn push(&mut self, line: &[u8]) -> std::io::Result<u32> {
        let writer = self
            .writer
            .as_mut()
            .expect("the spool is open while the index is built");
        writer.write_all(line)?;
        writer.write_all(b"\n")?;
        self.starts.push(self.len);
        self.len += line.len() as u64 + 1;
        Ok(self.starts.len() as u32 - 1)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush()?;
        }
        self.starts.shrink_to_fit();
        Ok(())
    }

    fn read(&self, record: u32) -> anyhow::Result<Record> {
        let i = record as usize;
        let start = self.starts[i];
        let end = self.starts.get(i + 1).copied().unwrap_or(self.len) - 1;
        let mut bytes = vec![0; (end - start) as usize];
        crate::output::read_at(&self.file, &mut bytes, start)
            .context("cannot read the index's spool back")?;
        serde_json::from_slice(&bytes).context("a record of the index's spool is damaged")
    }
}

/// The index, once built: read-only, shared by every row.
pub struct Index {
    hasher: DefaultHashBuilder,
    keys: Option<Keys>,
    /// One table per match key, in the keys' order.
    by_key: Vec<Table>,
    /// The table of each probe, when duplicates are looked for: its own, or the `siret` key's.
    by_probe: Vec<(Probe, usize)>,
    /// The tables of probes that are not a key's.
    probe_tables: Vec<Table>,
    spool: Option<Spool>,
    /// Customers indexed.
    pub records: u64,
}

/// Which table a probe uses: a key's (`Key`) or its own (`Own`).
const OWN: usize = 1 << 31;

impl Index {
    /// An index of nothing: for runs that send nothing (`--dry-run`).
    pub fn empty() -> Index {
        Index {
            hasher: DefaultHashBuilder::default(),
            keys: None,
            by_key: Vec::new(),
            by_probe: Vec::new(),
            probe_tables: Vec::new(),
            spool: None,
            records: 0,
        }
    }

    /// Starts an index for `wanted`, spooling records beside `beside`.
    pub fn new(wanted: &Needs, beside: &Path) -> anyhow::Result<Index> {
        let mut index = Index::empty();
        index.spool = Some(Spool::create(beside)?);
        if let Some(keys) = &wanted.keys {
            index.by_key = keys.iter().map(|_| Table::default()).collect();
            index.keys = Some(keys.clone());
        }
        if wanted.likely {
            let siret_key = wanted
                .keys
                .as_ref()
                .and_then(|keys| keys.iter().position(|k| k.to_string() == "siret"));
            for probe in [
                Probe::Siret,
                Probe::Siren,
                Probe::NamePostcode,
                Probe::NameCity,
            ] {
                let table = match (probe, siret_key) {
                    (Probe::Siret, Some(k)) => k,
                    _ => {
                        index.probe_tables.push(Table::default());
                        OWN | (index.probe_tables.len() - 1)
                    }
                };
                index.by_probe.push((probe, table));
            }
        }
        Ok(index)
    }

    fn tag(&self, value: &str) -> u32 {
        self.hasher.hash_one(value.as_bytes()) as u32
    }

    fn table(&self, at: usize) -> &Table {
        match at & OWN {
            0 => &self.by_key[at],
            _ => &self.probe_tables[at & !OWN],
        }
    }

    /// Adds one record, given as the JSON text of an object. Records without an id are left
    /// out: a customer that cannot be updated cannot be matched either.
    pub fn push(&mut self, line: &[u8], scratch: &mut Likeness) -> anyhow::Result<()> {
        let record: Record =
            serde_json::from_slice(line).context("the list handed over a damaged record")?;
        if record_id(&record).is_none() {
            return Ok(());
        }
        let spool = self.spool.as_mut().expect("a built index has a spool");
        let at = spool
            .push(line)
            .context("cannot write the index's spool (is the disk full?)")?;
        self.records += 1;
        let mut tags = Vec::new();
        if let Some(keys) = &self.keys {
            for (k, key) in keys.iter().enumerate() {
                if let Some(value) = key.of_record(&record) {
                    tags.push((k, self.tag(&value)));
                }
            }
        }
        if !self.by_probe.is_empty() {
            scratch.fill(|field| super::key::Val::of_json(record.get(field)?));
            let mut buffer = String::new();
            scratch.probes(&mut buffer, |probe, value| {
                let table = self.by_probe.iter().find(|(p, _)| *p == probe).map(|p| p.1);
                // The `siret` key's table has this record already.
                if let Some(table) = table.filter(|t| t & OWN != 0) {
                    tags.push((table, self.tag(value)));
                }
            });
        }
        for (table, tag) in tags {
            match table & OWN {
                0 => self.by_key[table].insert(tag, at),
                _ => self.probe_tables[table & !OWN].insert(tag, at),
            }
        }
        Ok(())
    }

    /// Ends the build: the spool is flushed and can be read back.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(spool) = &mut self.spool {
            spool
                .finish()
                .context("cannot write the index's spool (is the disk full?)")?;
        }
        Ok(())
    }

    fn read(&self, record: u32) -> anyhow::Result<Record> {
        match &self.spool {
            Some(spool) => spool.read(record),
            None => anyhow::bail!("internal error: a record read from an empty index"),
        }
    }

    /// The customers whose key number `k` (of the keys the index was built for) is `value`.
    pub fn find(&self, k: usize, value: &str) -> anyhow::Result<Found> {
        let (Some(keys), Some(table)) = (&self.keys, self.by_key.get(k)) else {
            return Ok(Found::None);
        };
        let key = keys.get(k);
        let mut first = None;
        let mut count = 0;
        for at in table.chain(self.tag(value)) {
            let record = self.read(at)?;
            if key.of_record(&record).as_deref() == Some(value) {
                count += 1;
                first.get_or_insert(record);
            }
        }
        Ok(match (count, first) {
            (1, Some(record)) => Found::One(record),
            (0, _) | (_, None) => Found::None,
            (n, _) => Found::Many(n),
        })
    }

    /// The customers that resemble `row`, each with why, strongest first.
    pub fn resembling(&self, row: &Likeness) -> anyhow::Result<Vec<(Record, Why)>> {
        if self.by_probe.is_empty() {
            return Ok(Vec::new());
        }
        let mut candidates = Vec::new();
        let mut buffer = String::new();
        row.probes(&mut buffer, |probe, value| {
            if let Some(&(_, table)) = self.by_probe.iter().find(|(p, _)| *p == probe) {
                candidates.extend(self.table(table).chain(self.tag(value)));
            }
        });
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = Vec::new();
        let mut theirs = Likeness::default();
        for at in candidates {
            let record = self.read(at)?;
            theirs.fill(|field| super::key::Val::of_json(record.get(field)?));
            if let Some(why) = row.compare(&theirs) {
                found.push((record, why));
            }
        }
        found.sort_by_key(|(_, why)| *why);
        Ok(found)
    }
}

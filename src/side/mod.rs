//! One side of a comparison of customer lists (`diff`, `restore`): a backup file in any export
//! format, or the account itself, read once.
//!
//! A side keeps in memory only what pairing needs, 40 bytes a record (and 8 more for each of
//! the two indexes, by id and by key, of a side that is looked up in): each record's id
//! (hashed), match key (hashed), [`Identity`] fingerprint, row, and where its bytes are. A
//! JSON or NDJSON backup holds its records as written, so its side points at them in the file
//! itself; the records of a sheet or of the account go to a spool file beside the input, as
//! NDJSON. Records are read again only for the pairs whose fingerprints differ. So a
//! million-record side costs tens of MB, not the gigabytes a million parsed records would.

mod index;
mod pair;
mod read;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use crate::api::Record;
use crate::compare::Identity;
use crate::lookup::Keys;
use crate::output::TempFile;
use index::SortedIndex;

pub use pair::{pairs, By, Pair, Pairs};
pub use read::{from_file, from_live, Live};

/// One record of a side.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Its row in the file (line for NDJSON, element for JSON, sheet row), or position in the
    /// account's list.
    pub row: u32,
    /// Hash of its id; 0 when it has none.
    pub id: u64,
    /// Hash of its match key; 0 when it has none.
    pub key: u64,
    pub fingerprint: u64,
    at: u64,
    len: u32,
}

/// What looking a record up by key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    None,
    One(u32),
    /// Several records share the key: none can be chosen safely.
    Many,
}

/// A customer list read once: what pairing needs in memory, the records in a spool.
pub struct Side {
    /// What the side is, for messages: a file name, or `live`.
    pub name: String,
    pub entries: Vec<Entry>,
    by_id: SortedIndex,
    by_key: SortedIndex,
    /// Records whose id an earlier record of this side already had (the first one counts).
    pub duplicate_ids: u64,
    /// Records without an id.
    pub without_id: u64,
    /// Records left out because they could not be read, with the first ones' rows and reasons.
    pub unreadable: Unreadable,
    /// Where the records' bytes are: the backup itself, or the spool.
    records: File,
    /// What `records` is, for messages.
    records_path: std::path::PathBuf,
    _spool: Option<TempFile>,
}

impl Side {
    /// The record whose id is `id`.
    pub fn find_id(&self, id: &str) -> Option<u32> {
        self.by_id_hash(hash(id))
    }

    /// The record with the id another side's [`Entry::id`] hashes to (the first, if the side
    /// holds it twice).
    pub fn by_id_hash(&self, id: u64) -> Option<u32> {
        if id == 0 {
            return None;
        }
        self.by_id.find(id, |p| self.entries[p as usize].id).next()
    }

    /// As [`Side::by_id_hash`], trying the record at `near` first: two backups of one account
    /// list its customers in the same order, so the record after the last one matched is
    /// nearly always the next match, found without a lookup in the index (a cache miss or
    /// several a record). Only where ids are known to be unique, so that it is the first.
    pub fn by_id_hash_near(&self, id: u64, near: usize) -> Option<u32> {
        let unique = self.duplicate_ids == 0 && !self.by_id.is_empty();
        match self.entries.get(near) {
            Some(entry) if unique && id != 0 && entry.id == id => Some(near as u32),
            _ => self.by_id_hash(id),
        }
    }

    /// The record with the key another side's [`Entry::key`] hashes to.
    pub fn by_key_hash(&self, key: u64) -> Match {
        if key == 0 {
            return Match::None;
        }
        let mut found = self.by_key.find(key, |p| self.entries[p as usize].key);
        match (found.next(), found.next()) {
            (None, _) => Match::None,
            (Some(one), None) => Match::One(one),
            (Some(_), Some(_)) => Match::Many,
        }
    }

    /// The record at `index`, read again from the backup or the spool.
    pub fn record(&self, index: u32) -> anyhow::Result<Record> {
        let entry = self.entries[index as usize];
        let mut bytes = vec![0; entry.len as usize];
        let path = self.records_path.display();
        crate::output::read_at(&self.records, &mut bytes, entry.at)
            .with_context(|| format!("cannot read back a record of {} from {path}", self.name))?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "record {} of {} is no longer what was read from {path}: was the file changed \
                 while custbulk ran?",
                entry.row, self.name
            )
        })
    }
}

/// Records a side left out.
#[derive(Debug, Default)]
pub struct Unreadable {
    pub count: u64,
    /// Row and reason of the first [`Unreadable::KEPT`].
    pub first: Vec<(u32, String)>,
}

impl Unreadable {
    const KEPT: usize = 10;
}

/// Builds a [`Side`] from records as they are read.
pub struct Builder {
    name: String,
    keys: Option<Keys>,
    entries: Vec<Entry>,
    by_id: SortedIndex,
    by_key: SortedIndex,
    indexed: bool,
    duplicate_ids: u64,
    without_id: u64,
    unreadable: Unreadable,
    store: Store,
}

/// Where a side's records are kept.
enum Store {
    /// In the file being read, where they already are.
    InPlace(std::path::PathBuf),
    /// Written to a spool as they come, at `at`.
    Spool {
        out: BufWriter<File>,
        at: u64,
        spool: TempFile,
    },
}

impl Builder {
    /// A side named `name` whose spool goes beside `beside`; `keys` are what records may be
    /// matched on besides their id. Only a side the other's records are looked up in
    /// (`indexed`) keeps the indexes by id and key: the other is only walked.
    pub fn new(
        name: &str,
        beside: &Path,
        keys: Option<&Keys>,
        indexed: bool,
    ) -> anyhow::Result<Builder> {
        // Two sides may spool beside the same file: each spool gets a name of its own.
        static SPOOLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SPOOLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let spool = TempFile::beside(beside, &format!("side{n}"));
        let file = File::create(spool.path())
            .with_context(|| format!("cannot create {}", spool.path().display()))?;
        let store = Store::Spool {
            out: BufWriter::with_capacity(256 * 1024, file),
            at: 0,
            spool,
        };
        Ok(Builder::with(name, keys, indexed, store))
    }

    /// A side of the JSON records of `file`, added with [`Builder::push_in_place`]: nothing
    /// is spooled, the records are read again from the file.
    pub fn in_place(file: &Path, keys: Option<&Keys>, indexed: bool) -> Builder {
        let name = file.display().to_string();
        Builder::with(&name, keys, indexed, Store::InPlace(file.to_path_buf()))
    }

    fn with(name: &str, keys: Option<&Keys>, indexed: bool, store: Store) -> Builder {
        Builder {
            name: name.to_string(),
            keys: keys.cloned(),
            entries: Vec::new(),
            by_id: SortedIndex::default(),
            by_key: SortedIndex::default(),
            indexed,
            duplicate_ids: 0,
            without_id: 0,
            unreadable: Unreadable::default(),
            store,
        }
    }

    /// Adds one record, given as the text of a JSON object. Fails when it is not one.
    pub fn push_json(&mut self, row: u32, bytes: &[u8]) -> Result<(), serde_json::Error> {
        let identity = Identity::of_json(bytes, self.keys.as_ref())?;
        self.add(row, identity, bytes)
            .map_err(serde_json::Error::io)
    }

    /// Adds one record of an [`Builder::in_place`] side: the text of a JSON object, which
    /// lies at `at` in its file. Fails when it is not one.
    pub fn push_in_place(
        &mut self,
        row: u32,
        bytes: &[u8],
        at: u64,
    ) -> Result<(), serde_json::Error> {
        debug_assert!(matches!(self.store, Store::InPlace(_)));
        let identity = Identity::of_json(bytes, self.keys.as_ref())?;
        self.entry(row, identity, at, bytes.len());
        Ok(())
    }

    /// Adds one parsed record.
    pub fn push(&mut self, row: u32, record: &Record) -> std::io::Result<()> {
        let identity = Identity::of(record, self.keys.as_ref());
        let bytes = serde_json::to_vec(record)?;
        self.add(row, identity, &bytes)
    }

    /// Leaves a record out, saying why.
    pub fn unreadable(&mut self, row: u32, why: impl Into<String>) {
        self.unreadable.count += 1;
        if self.unreadable.first.len() < Unreadable::KEPT {
            self.unreadable.first.push((row, why.into()));
        }
    }

    /// Adds a record, spooling its bytes.
    fn add(&mut self, row: u32, identity: Identity, bytes: &[u8]) -> std::io::Result<()> {
        let Store::Spool { out, at, .. } = &mut self.store else {
            unreachable!("a side read in place takes records with push_in_place");
        };
        let start = *at;
        out.write_all(bytes)?;
        out.write_all(b"\n")?;
        *at += bytes.len() as u64 + 1;
        self.entry(row, identity, start, bytes.len());
        Ok(())
    }

    /// Adds a record's entry, and indexes it.
    fn entry(&mut self, row: u32, identity: Identity, at: u64, len: usize) {
        let index = self.entries.len() as u32;
        let id = match &identity.id {
            Some(id) => hash(id),
            None => 0,
        };
        if id == 0 {
            self.without_id += 1;
        } else if self.indexed {
            self.by_id.push(id, index);
        }
        let key = identity.key.as_deref().map_or(0, hash);
        if key != 0 && self.indexed {
            self.by_key.push(key, index);
        }
        self.entries.push(Entry {
            row,
            id,
            key,
            fingerprint: identity.fingerprint,
            at,
            // Records are bounded well below 4 GB (MAX_RECORD_BYTES, a page's record).
            len: len as u32,
        });
    }

    pub fn finish(mut self) -> anyhow::Result<Side> {
        self.by_id.finish();
        self.by_key.finish();
        let entries = &self.entries;
        self.duplicate_ids = self.by_id.repeats(|p| entries[p as usize].id);
        let (records_path, spool) = match self.store {
            Store::InPlace(path) => (path, None),
            Store::Spool { out, spool, .. } => {
                let file = out
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .and_then(|mut f| f.flush().map(|_| f))
                    .with_context(|| format!("cannot write {}", spool.path().display()))?;
                drop(file);
                (spool.path().to_path_buf(), Some(spool))
            }
        };
        let records = File::open(&records_path)
            .with_context(|| format!("cannot read {}", records_path.display()))?;
        Ok(Side {
            name: self.name,
            entries: self.entries,
            by_id: self.by_id,
            by_key: self.by_key,
            duplicate_ids: self.duplicate_ids,
            without_id: self.without_id,
            unreadable: self.unreadable,
            records,
            records_path,
            _spool: spool,
        })
    }
}

/// The 64-bit hash an id or key is indexed by; never 0 (0 stands for "no id").
fn hash(text: &str) -> u64 {
    crate::compare::hash_bytes(text.as_bytes()).max(1)
}

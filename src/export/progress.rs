//! What the export's progress bar says: records against the server's total, the page and the
//! concurrency, then the table pass. Drawn by the one [`crate::progress::Progress`].

/// The export's view of the progress bar.
#[derive(Clone, Default)]
pub struct Progress(crate::progress::Progress);

impl Progress {
    pub fn new(bar: crate::progress::Progress) -> Progress {
        Progress(bar)
    }

    /// A progress that shows nothing (tests, benchmarks).
    pub fn hidden() -> Progress {
        Progress::default()
    }

    /// The first page has arrived: a bar when the total is known, a counter otherwise; the
    /// concurrency shown is `client`'s.
    pub fn start(&self, total: Option<u64>, client: &crate::api::Client) {
        self.0.start(total, "records");
        self.0.follow(client);
    }

    /// A page was taken in, with this many new records.
    pub fn page(&self, number: u64, last: Option<u64>, records: u64) {
        self.0.inc(records);
        self.0.message(|| match last {
            Some(last) => format!("page {number}/{}", last.max(number)),
            None => format!("page {number}"),
        });
    }

    /// The table is being written from the spooled records.
    pub fn writing(&self, records: u64, what: &str) {
        self.0.start(Some(records), "rows");
        self.0.message(|| format!("writing {what}"));
    }

    pub fn rows(&self, n: u64) {
        self.0.inc(n);
    }

    pub fn finish(&self) {
        self.0.finish();
    }
}

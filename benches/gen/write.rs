//! The generated lists written as files: CSV and XLSX sheets as people share them, NDJSON
//! backups as `custbulk export` writes them, and the benchmarks' data files (seed [`SEED`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{stamps, Generator, HEADERS, NUMERIC, SEED, VERSION};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

/// What a list is written as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Semicolon-separated UTF-8, as French Excel users share.
    Csv,
    /// The same as a French list often holds it (issue 22's transforms): `Prénom du gérant` and
    /// `Nom du gérant` in place of `Gérant`, `Adresse complète` (`12 rue de la Paix, 01000
    /// Bourg-en-Bresse`) in place of `Adresse`, `Code postal` and `Ville`.
    CsvFrenchList,
    /// XLSX in constant-memory mode: inline strings.
    Xlsx,
    /// XLSX with a shared-strings table, as Excel and LibreOffice write workbooks.
    XlsxSharedStrings,
    /// A backup, as `custbulk export` writes one.
    Ndjson,
    /// The backup of the same list a day later: 1% of the customers edited (moved, another
    /// phone), 0.5% gone, 0.5% new (at the end, as the newest).
    NdjsonADayLater,
}

/// Writes `rows` customers made from `seed` to `path`.
pub fn write(path: &Path, format: Format, rows: u64, seed: u64) -> Result {
    match format {
        Format::Csv => csv(path, rows, seed),
        Format::CsvFrenchList => french_list(path, rows, seed),
        Format::Xlsx => workbook(path, rows, seed, false),
        Format::XlsxSharedStrings => workbook(path, rows, seed, true),
        Format::Ndjson => backup(path, rows, seed, false),
        Format::NdjsonADayLater => backup(path, rows, seed, true),
    }
}

fn csv(path: &Path, rows: u64, seed: u64) -> Result {
    let file = std::fs::File::create(path)?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(std::io::BufWriter::with_capacity(1 << 16, file));
    w.write_record(HEADERS)?;
    let mut g = Generator::new(seed);
    for _ in 0..rows {
        g.next();
        w.write_record(&g.cells)?;
    }
    w.flush()?;
    Ok(())
}

fn french_list(path: &Path, rows: u64, seed: u64) -> Result {
    use super::col::{CITY, MANAGER, STREET1, ZIP};
    let file = std::fs::File::create(path)?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(std::io::BufWriter::with_capacity(1 << 16, file));
    let mut record: Vec<String> = Vec::new();
    for (c, h) in HEADERS.iter().enumerate() {
        match c {
            MANAGER => record.extend(["Prénom du gérant".into(), "Nom du gérant".into()]),
            STREET1 => record.push("Adresse complète".into()),
            ZIP | CITY => {}
            _ => record.push(h.to_string()),
        }
    }
    w.write_record(&record)?;
    let mut g = Generator::new(seed);
    for _ in 0..rows {
        g.next();
        let cells = &g.cells;
        record.clear();
        for (c, cell) in cells.iter().enumerate() {
            match c {
                MANAGER => {
                    let (first, last) = cell.split_once(' ').unwrap_or(("", cell));
                    record.extend([first.to_string(), last.to_string()]);
                }
                STREET1 => record.push(format!("{cell}, {} {}", cells[ZIP], cells[CITY])),
                ZIP | CITY => {}
                _ => record.push(cell.clone()),
            }
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

/// Capital and UN number as numbers when typed without separators, zip codes and SIRETs as
/// text, as a careful user would type them.
fn workbook(path: &Path, rows: u64, seed: u64, shared_strings: bool) -> Result {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = if shared_strings {
        wb.add_worksheet_with_low_memory()?
    } else {
        wb.add_worksheet_with_constant_memory()?
    };
    ws.set_name("Clients")?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let mut g = Generator::new(seed);
    for i in 0..rows {
        g.next();
        let r = (i + 1) as u32;
        for (c, v) in g.cells.iter().enumerate() {
            match v.parse::<f64>() {
                _ if v.is_empty() => continue,
                Ok(n) if NUMERIC.contains(&c) => ws.write_number(r, c as u16, n)?,
                _ => ws.write_string(r, c as u16, v)?,
            };
        }
    }
    wb.save(path)?;
    Ok(())
}

fn backup(path: &Path, rows: u64, seed: u64, later: bool) -> Result {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    let mut g = Generator::new(seed);
    let mut line = |g: &Generator, i: u64, edited: bool| -> std::io::Result<()> {
        let (id, created, updated) = stamps(i, edited);
        serde_json::to_writer(&mut out, &g.served(&id, &created, &updated))?;
        out.write_all(b"\n")
    };
    for i in 0..rows {
        g.next();
        if later && i % 200 == 0 {
            continue;
        }
        let edited = later && i % 100 == 2;
        if edited {
            g.edit();
        }
        line(&g, i, edited)?;
    }
    if later {
        for i in rows..rows + rows / 200 {
            g.next();
            line(&g, i, false)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The file `target/bench-data/NAME-vVERSION-ROWS.EXT` of `rows` customers in `format` (seed
/// [`SEED`]), written on first use.
pub fn data_file(name: &str, format: Format, rows: u64) -> PathBuf {
    let ext = match format {
        Format::Csv | Format::CsvFrenchList => "csv",
        Format::Xlsx | Format::XlsxSharedStrings => "xlsx",
        Format::Ndjson | Format::NdjsonADayLater => "ndjson",
    };
    data_file_made(name, ext, rows, |path| write(path, format, rows, SEED))
}

/// The file `target/bench-data/NAME-vVERSION-ROWS.EXT`, made by `make` on first use: for a
/// benchmark's own variant of the lists.
pub fn data_file_made(
    name: &str,
    ext: &str,
    rows: u64,
    make: impl FnOnce(&Path) -> Result,
) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-v{VERSION}-{rows}.{ext}"));
    if !path.exists() {
        eprintln!("generating {} ...", path.display());
        let tmp = path.with_extension("tmp");
        make(&tmp).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

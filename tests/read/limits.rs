//! Hostile workbooks: an XLSX that inflates a thousandfold (one huge cell, a sea of white
//! space, giant shared strings), a zip directory that lies about sizes, a cell or a row past
//! its bound, and formulas written without their value. Each is refused with the file, sheet
//! and cell or row named, and costs little memory: the peak RSS of the real binary is checked
//! through `wait4`, never by timing.
//!
//! The workbooks are written here by the zip crate, streaming: deflate packs a run of one
//! byte about a thousandfold, so a 3 MB file holds a 3 GB cell.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::util::Workdir;

const MB: u64 = 1 << 20;

/// Writes a sheet's rows (the inside of `<sheetData>`).
type Rows<'a> = &'a dyn Fn(&mut dyn Write) -> io::Result<()>;

/// A minimal XLSX: the sheets `(name, rows)` in order, and shared strings when given (the
/// inside of `<sst>`).
fn write_xlsx(path: &Path, sheets: &[(&str, Rows<'_>)], shared: Option<Rows<'_>>) {
    let file = BufWriter::new(File::create(path).unwrap());
    let mut zip = ZipWriter::new(file);
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6));
    let put = |zip: &mut ZipWriter<_>, name: &str, text: &str| {
        zip.start_file(name, deflated).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    };
    let ns = "http://schemas.openxmlformats.org";
    let overrides: String = (1..=sheets.len())
        .map(|i| {
            format!(
                r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
            )
        })
        .collect();
    put(
        &mut zip,
        "[Content_Types].xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#
        ),
    );
    put(
        &mut zip,
        "_rels/.rels",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    let listed: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            format!(
                r#"<sheet name="{name}" sheetId="{}" r:id="rId{}"/>"#,
                i + 1,
                i + 1
            )
        })
        .collect();
    put(
        &mut zip,
        "xl/workbook.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>{listed}</sheets></workbook>"#
        ),
    );
    // Listed in reverse, so that the sheet's member is found by its relationship, not by order.
    let rels: String = (1..=sheets.len())
        .rev()
        .map(|i| {
            format!(
                r#"<Relationship Id="rId{i}" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#
            )
        })
        .collect();
    let strings_rel = if shared.is_some() {
        format!(
            r#"<Relationship Id="rIdS" Type="{ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#
        )
    } else {
        String::new()
    };
    put(
        &mut zip,
        "xl/_rels/workbook.xml.rels",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">{rels}{strings_rel}</Relationships>"#
        ),
    );
    if let Some(shared) = shared {
        zip.start_file("xl/sharedStrings.xml", deflated).unwrap();
        write!(
            zip,
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{ns}/spreadsheetml/2006/main">"#
        )
        .unwrap();
        shared(&mut zip).unwrap();
        zip.write_all(b"</sst>").unwrap();
    }
    for (i, (_, rows)) in sheets.iter().enumerate() {
        zip.start_file(format!("xl/worksheets/sheet{}.xml", i + 1), deflated)
            .unwrap();
        write!(
            zip,
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}/spreadsheetml/2006/main"><sheetData>"#
        )
        .unwrap();
        rows(&mut zip).unwrap();
        zip.write_all(b"</sheetData></worksheet>").unwrap();
    }
    zip.finish().unwrap().flush().unwrap();
}

/// An inline-string cell.
fn cell(at: &str, text: &str) -> String {
    format!(r#"<c r="{at}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// The header row `name`, `city`.
fn header(out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        r#"<row r="1">{}{}</row>"#,
        cell("A1", "name"),
        cell("B1", "city")
    )
}

/// `n` bytes of `byte`, streamed.
fn run_of(out: &mut dyn Write, byte: u8, n: u64) -> io::Result<()> {
    let chunk = vec![byte; MB as usize];
    let mut left = n;
    while left > 0 {
        let now = left.min(MB);
        out.write_all(&chunk[..now as usize])?;
        left -= now;
    }
    Ok(())
}

/// A row 2 whose cell B2 holds `n` letters.
fn big_cell(n: u64) -> impl Fn(&mut dyn Write) -> io::Result<()> {
    move |out| {
        header(out)?;
        write!(
            out,
            r#"<row r="2">{}<c r="B2" t="inlineStr"><is><t>"#,
            cell("A2", "Acme")
        )?;
        run_of(out, b'a', n)?;
        out.write_all(b"</t></is></c></row>")
    }
}

/// Runs `custbulk validate FILE ARGS` in `w` and returns (exit code, stderr, peak RSS in MB).
///
/// Linux carries a parent's peak RSS into its child's (across fork and exec), and this test
/// process may hold hundreds of MB for other tests running beside it. So a fresh copy of this
/// test binary, small, runs only [`rss_probe`], which starts custbulk and reads its peak RSS
/// through `wait4`.
fn validate_rss(w: &Workdir, file: &str, args: &[&str]) -> (i32, String, f64) {
    let mut request = vec![w.dir().display().to_string(), file.to_string()];
    request.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "read::limits::rss_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE, request.join("\n"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("rss-probe ").map(|(_, result)| result))
        .unwrap_or_else(|| {
            panic!(
                "no probe result: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut result = line.split_whitespace();
    let (code, rss) = (result.next().unwrap(), result.next().unwrap());
    let stderr = std::fs::read_to_string(w.path(&format!("{file}.stderr"))).unwrap();
    (code.parse().unwrap(), stderr, rss.parse().unwrap())
}

/// The request of [`validate_rss`]: the work directory, the file, the arguments, one a line.
const PROBE: &str = "CUSTBULK_TEST_RSS_PROBE";

/// Not a test by itself: the measuring half of [`validate_rss`], run in a fresh copy of this
/// binary. Without its request it does nothing.
#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its peak RSS
fn rss_probe() {
    let Ok(request) = std::env::var(PROBE) else {
        return;
    };
    let mut parts = request.lines();
    let (dir, file) = (parts.next().unwrap(), parts.next().unwrap());
    let err = Path::new(dir).join(format!("{file}.stderr"));
    let child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .current_dir(dir)
        .args(["validate", file])
        .args(parts)
        .stdout(Stdio::null())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: wait4 writes only into the two values passed; the child is ours and not waited.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(pid > 0 && libc::WIFEXITED(status), "status {status}");
    println!(
        "rss-probe {} {}",
        libc::WEXITSTATUS(status),
        usage.ru_maxrss as f64 / 1024.0
    );
}

/// The issue's case: a 3 MB XLSX whose one cell inflates to 3 GiB was read whole (9.4 GB of
/// RSS). It is refused from the zip directory before a byte of it is inflated, as is 3 GiB of
/// white space after a row.
#[test]
fn an_inflate_bomb_is_refused_at_once_with_little_memory() {
    let w = Workdir::new();
    let cell_bomb = w.path("bomb.xlsx");
    write_xlsx(&cell_bomb, &[("Clients", &big_cell(3 << 30))], None);
    let on_disk = std::fs::metadata(&cell_bomb).unwrap().len();
    assert!(on_disk < 8 * MB, "{on_disk} bytes");
    let (code, stderr, rss) = validate_rss(&w, "bomb.xlsx", &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("bomb.xlsx, sheet \"Clients\""), "{stderr}");
    assert!(stderr.contains("zip bomb"), "{stderr}");
    assert!(rss < 100.0, "peak RSS {rss:.0} MB");

    let space_bomb = w.path("space.xlsx");
    let rows = |out: &mut dyn Write| -> io::Result<()> {
        header(out)?;
        write!(out, r#"<row r="2">{}</row>"#, cell("A2", "Acme"))?;
        run_of(out, b' ', 3 << 30)?;
        write!(out, r#"<row r="3">{}</row>"#, cell("A3", "Beta"))
    };
    write_xlsx(&space_bomb, &[("Clients", &rows)], None);
    let (code, stderr, rss) = validate_rss(&w, "space.xlsx", &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("sheet \"Clients\""), "{stderr}");
    assert!(rss < 100.0, "peak RSS {rss:.0} MB");
}

/// A directory that declares a small size for a member that inflates far more: the zip crate
/// stops at the declared size, so the lie ends the read as a damaged file, cheaply.
#[test]
fn a_zip_directory_that_lies_about_a_size_ends_the_read() {
    let w = Workdir::new();
    let path = w.path("liar.xlsx");
    write_xlsx(&path, &[("Clients", &big_cell(512 * MB))], None);
    let declared = 4 * MB as u32;
    patch_uncompressed_size(&path, "xl/worksheets/sheet1.xml", declared);
    let (code, stderr, rss) = validate_rss(&w, "liar.xlsx", &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("liar.xlsx"), "{stderr}");
    assert!(rss < 100.0, "peak RSS {rss:.0} MB");
}

/// Sets the uncompressed size of `member` in its local header and its central directory
/// entry, as a forged archive would.
fn patch_uncompressed_size(path: &Path, member: &str, size: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    let name = member.as_bytes();
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(46 + name.len()) {
        let (size_at, len_at, name_at) = match &bytes[i..i + 4] {
            b"PK\x03\x04" => (22, 26, 30),
            b"PK\x01\x02" => (24, 28, 46),
            _ => continue,
        };
        let name_len = u16::from_le_bytes([bytes[i + len_at], bytes[i + len_at + 1]]);
        let at = i + name_at;
        if usize::from(name_len) == name.len() && bytes.get(at..at + name.len()) == Some(name) {
            bytes[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "the local and central headers of {member}");
    std::fs::write(path, bytes).unwrap();
}

/// Shared strings that inflate too much are refused before calamine loads them, naming them.
#[test]
fn inflated_shared_strings_are_refused() {
    let w = Workdir::new();
    let path = w.path("strings.xlsx");
    let shared = |out: &mut dyn Write| -> io::Result<()> {
        out.write_all(b"<si><t>")?;
        run_of(out, b'z', 200 * MB)?;
        out.write_all(b"</t></si>")
    };
    let rows = |out: &mut dyn Write| header(out);
    write_xlsx(&path, &[("Clients", &rows)], Some(&shared));
    let r = w.exec(&["validate", "strings.xlsx"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("strings.xlsx") && r.stderr.contains("the shared strings"),
        "{}",
        r.stderr
    );
}

/// A bomb in another sheet does not stop the sheet asked for; asking for it names it.
#[test]
fn only_the_sheet_read_is_refused_for_its_inflation() {
    let w = Workdir::new();
    let path = w.path("two.xlsx");
    let clients = |out: &mut dyn Write| -> io::Result<()> {
        header(out)?;
        write!(
            out,
            r#"<row r="2">{}{}</row>"#,
            cell("A2", "Acme"),
            cell("B2", "Lyon")
        )
    };
    write_xlsx(
        &path,
        &[("Clients", &clients), ("Junk", &big_cell(200 * MB))],
        None,
    );
    let r = w.exec(&["validate", "two.xlsx", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["rows"], 1);
    let r = w.exec(&["validate", "two.xlsx", "--sheet", "Junk"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("two.xlsx, sheet \"Junk\"") && r.stderr.contains("sheet2.xml"),
        "{}",
        r.stderr
    );
}

/// Under the inflation bound, a cell over 1 MiB or a row over 32 MB is an error naming the
/// file, sheet and cell (or row), as a CSV row over 32 MB is.
#[test]
fn a_cell_or_a_row_past_its_bound_is_an_error_naming_it() {
    let w = Workdir::new();
    write_xlsx(
        &w.path("cell.xlsx"),
        &[("Clients", &big_cell(2 * MB))],
        None,
    );
    let r = w.exec(&["validate", "cell.xlsx"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "cell.xlsx, sheet \"Clients\", cell B2: the cell holds more than 1 MiB of text"
        ),
        "{}",
        r.stderr
    );

    let wide = |out: &mut dyn Write| -> io::Result<()> {
        header(out)?;
        out.write_all(br#"<row r="2">"#)?;
        for c in 0..40 {
            write!(
                out,
                r#"<c r="{}2" t="inlineStr"><is><t>"#,
                custbulk::read::column_letter(c)
            )?;
            run_of(out, b'w', 900 << 10)?;
            out.write_all(b"</t></is></c>")?;
        }
        out.write_all(b"</row>")
    };
    write_xlsx(&w.path("row.xlsx"), &[("Clients", &wide)], None);
    let r = w.exec(&["validate", "row.xlsx"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("row.xlsx, sheet \"Clients\", row 2: the row holds more than 32 MB"),
        "{}",
        r.stderr
    );
}

/// A tool that writes formulas without computing them leaves cells with no saved value: they
/// read as blank, and the user is told, once for the sheet and on each such cell.
#[test]
fn formula_cells_without_a_saved_value_are_warned_about() {
    let w = Workdir::new();
    let rows = |out: &mut dyn Write| -> io::Result<()> {
        header(out)?;
        write!(
            out,
            r#"<row r="2">{}<c r="B2"><f>UPPER("lyon")</f></c></row><row r="3">{}<c r="B3"><f>"Paris"</f><v>Paris</v></c></row><row r="4">{}<c r="B4"><f>A4</f><v></v></c></row>"#,
            cell("A2", "Acme"),
            cell("A3", "Beta"),
            cell("A4", "Gamma")
        )
    };
    write_xlsx(&w.path("formulas.xlsx"), &[("Clients", &rows)], None);
    let r = w.exec(&["validate", "formulas.xlsx", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "formulas.xlsx, sheet \"Clients\": 2 formula cells have no saved value and read as \
             blank; open and save the file in Excel or LibreOffice"
        ),
        "{}",
        r.stderr
    );
    let v = r.json();
    let warned: Vec<(u64, &str, &str)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap(),
                p["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(warned, [(2, "B", "warning"), (4, "B", "warning")]);
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("formula with no saved value"));
}

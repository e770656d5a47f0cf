//! Whatever bytes a file holds, under whatever extension, `open` and `next_row` return rows or
//! an error: never a panic, never a hang.

use std::path::Path;

use custbulk::read::{self, ReadOptions, Row};
use proptest::prelude::*;

const EXTENSIONS: &[&str] = &[
    "csv", "txt", "xlsx", "xlsm", "xlsb", "xls", "ods", "dat", "json", "ndjson",
];

/// Records as `custbulk export` writes them, with the values that need care.
const RECORDS: [&str; 3] = [
    r#"{"_id":"65a1","name":"Café "Le Zinc"","siret":55212022200013,"contacts":[{"name":"J","email":"j@example.fr"}]}"#,
    r#"{"_id":{"$oid":"65a2"},"name":"مخبزة","capital":1000,"isCompany":true,"street2":null}"#,
    r#"{"name":"Beta","legacy":{"old":[1,2,{"x":"]"}]}}"#,
];

/// Opens and drains the file; errors are fine, panics are not.
fn drain(path: &Path) {
    let Ok(mut table) = read::open(path, &ReadOptions::default(), &super::is_header) else {
        return;
    };
    let mut row = Row::new();
    for _ in 0..200_000 {
        match table.next_row(&mut row) {
            Ok(true) => assert!(row.cells.len() >= table.headers.len()),
            Ok(false) | Err(_) => return,
        }
    }
}

/// The real files to cut and damage, built once.
fn real_files() -> &'static [(&'static str, Vec<u8>)] {
    static FILES: std::sync::OnceLock<Vec<(&'static str, Vec<u8>)>> = std::sync::OnceLock::new();
    FILES.get_or_init(load_real_files)
}

fn load_real_files() -> Vec<(&'static str, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("fixture.xlsx");
    super::sheet::write_fixture_xlsx(&xlsx);
    let mut files = vec![("xlsx", std::fs::read(&xlsx).unwrap())];
    for (ext, name) in [
        ("ods", "clients-libreoffice.ods"),
        ("xls", "clients-libreoffice.xls"),
        ("xlsx", "clients-libreoffice.xlsx"),
        ("csv", "clients-utf8-bom.csv"),
        ("csv", "clients-windows1252.csv"),
    ] {
        files.push((ext, std::fs::read(super::data(name)).unwrap()));
    }
    files.push((
        "json",
        format!("[\n{}\n]\n", RECORDS.join(",\n")).into_bytes(),
    ));
    files.push(("ndjson", format!("{}\n", RECORDS.join("\n")).into_bytes()));
    files
}

proptest! {
    // 96 cases by default; PROPTEST_CASES=5000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        ext in prop::sample::select(EXTENSIONS),
        magic in prop::sample::select(vec![&b""[..], b"PK\x03\x04", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", b"\xEF\xBB\xBF", b"\xFF\xFE", b"[{", b"{\""]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("random.{ext}"));
        let mut content = magic.to_vec();
        content.extend_from_slice(&bytes);
        std::fs::write(&path, &content).unwrap();
        drain(&path);
    }

    #[test]
    fn truncated_and_damaged_real_files_never_panic(
        which in 0usize..8,
        cut in 0.0f64..1.0,
        flips in prop::collection::vec((0.0f64..1.0, any::<u8>()), 0..4),
        ext in prop::sample::select(EXTENSIONS),
        keep_ext in any::<bool>(),
    ) {
        let files = real_files();
        let (real_ext, bytes) = &files[which % files.len()];
        let mut bytes = bytes[..(bytes.len() as f64 * cut) as usize].to_vec();
        for (at, value) in flips {
            if !bytes.is_empty() {
                let i = (bytes.len() as f64 * at) as usize % bytes.len();
                bytes[i] = value;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let ext = if keep_ext { real_ext } else { ext };
        let path = dir.path().join(format!("cut.{ext}"));
        std::fs::write(&path, &bytes).unwrap();
        drain(&path);
    }
}

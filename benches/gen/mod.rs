//! Generates realistic customer lists for benchmarks: 19 columns with French headers, French and
//! Arabic values, zip codes with leading zeros, Luhn-valid SIRETs, one contact per row.
//!
//! Shared by `benches/read.rs` and `examples/gen_customers.rs` (through `#[path]`), so the
//! benchmark can make its own input and people can make one to try the tool on.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

pub const HEADERS: [&str; 19] = [
    "Raison sociale",
    "Société",
    "Capital social",
    "Gérant",
    "Adresse",
    "Complément d'adresse",
    "Code postal",
    "Ville",
    "N° SIRET",
    "RCS",
    "UN number",
    "Statut",
    "Objet",
    "Catégorie",
    "Nom (arabe)",
    "Adresse (arabe)",
    "Contact 1 Nom",
    "Contact 1 Email",
    "Contact 1 Téléphone",
];

/// Columns written as numbers in XLSX (capital, UN number); the rest are text.
pub const NUMERIC: [usize; 2] = [2, 10];

const TRADES: &[&str] = &[
    "Boulangerie",
    "Garage",
    "Pharmacie",
    "Épicerie",
    "Café",
    "Transports",
    "Cabinet",
    "Menuiserie",
    "Librairie",
    "Société",
];
const SURNAMES: &[&str] = &[
    "Martin",
    "Dupont",
    "Lefèvre",
    "Benali",
    "Moreau",
    "Haddad",
    "Girard",
    "Mansouri",
    "Rousseau",
    "Chérif",
    "Fournier",
    "El Amrani",
    "Lambert",
    "Bouchard",
    "Noël",
];
const FIRST: &[&str] = &[
    "Jean", "Fatima", "Éric", "Karim", "Chloé", "Youssef", "Hélène", "Mohamed", "Amélie", "Léa",
];
const STREETS: &[&str] = &[
    "rue de la Paix",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "place de la République",
    "chemin des Écoliers",
    "rue du Général de Gaulle",
];
const CITIES: &[(&str, u32)] = &[
    ("Bourg-en-Bresse", 1000),
    ("Laon", 2000),
    ("Nice", 6000),
    ("Marseille", 13001),
    ("Lyon", 69002),
    ("Paris", 75011),
    ("Lille", 59000),
    ("Toulouse", 31000),
    ("Ajaccio", 20000),
    ("Strasbourg", 67000),
];
const STATUSES: &[&str] = &["actif", "inactif", "prospect"];
const SUBJECTS: &[&str] = &[
    "Commerce de détail",
    "Transport de marchandises",
    "Conseil en gestion",
    "Restauration, traiteur",
    "Travaux de menuiserie",
];
const AR_NAMES: &[&str] = &[
    "مخبزة مارتن",
    "صيدلية النور",
    "مقهى الأصدقاء",
    "شركة النقل",
    "مكتبة الحكمة",
];
const AR_STREETS: &[&str] = &[
    "شارع الحرية",
    "شارع محمد الخامس",
    "زنقة الأمل",
    "ساحة الاستقلال",
];

/// One row's cells, written into reused strings.
pub struct Generator {
    rng: SmallRng,
    pub cells: Vec<String>,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: SmallRng::seed_from_u64(seed),
            cells: vec![String::new(); HEADERS.len()],
        }
    }

    /// Fills `cells` with row `i`.
    pub fn fill(&mut self, i: u64) {
        use std::fmt::Write;
        let Generator { rng, cells: c } = self;
        for cell in c.iter_mut() {
            cell.clear();
        }
        let trade = pick(rng, TRADES);
        let surname = pick(rng, SURNAMES);
        let first = pick(rng, FIRST);
        let company = rng.random_bool(0.8);
        let (city, zip) = CITIES[rng.random_range(0..CITIES.len())];
        let _ = write!(c[0], "{trade} {surname}");
        if rng.random_bool(0.2) {
            c[0].push_str(" & Fils");
        }
        c[1].push_str(if company { "oui" } else { "non" });
        let _ = write!(c[2], "{}", rng.random_range(1..=2000) * 500);
        let _ = write!(c[3], "{first} {surname}");
        let _ = write!(
            c[4],
            "{} {}",
            rng.random_range(1..200),
            STREETS[(i % 6) as usize]
        );
        if rng.random_bool(0.3) {
            let _ = write!(
                c[5],
                "Bâtiment {}",
                (b'A' + rng.random_range(0..6u8)) as char
            );
        }
        let _ = write!(c[6], "{:05}", zip + rng.random_range(0..9));
        c[7].push_str(city);
        let siren = 100_000_000 + (i * 7919 + rng.random_range(0..7919)) % 899_999_999;
        let body = format!("{siren:09}{:04}", rng.random_range(1..10_000));
        let _ = write!(
            c[8],
            "{body}{}",
            custbulk::validate::coerce::luhn_check_digit(&body)
        );
        let _ = write!(
            c[9],
            "RCS {city} B {} {} {}",
            &body[0..3],
            &body[3..6],
            &body[6..9]
        );
        let _ = write!(c[10], "{}", rng.random_range(1000..3600));
        c[11].push_str(pick(rng, STATUSES));
        c[12].push_str(pick(rng, SUBJECTS));
        let cat = (b'A' + rng.random_range(0..4u8)) as char;
        c[13].push(cat);
        c[14].push_str(pick(rng, AR_NAMES));
        let _ = write!(
            c[15],
            "{} {}",
            pick(rng, AR_STREETS),
            rng.random_range(1..99)
        );
        let _ = write!(c[16], "{first} {surname}");
        let _ = write!(
            c[17],
            "{}.{}{}@exemple.fr",
            ascii_lower(first),
            ascii_lower(surname),
            i % 1000
        );
        let _ = write!(
            c[18],
            "0{} {:02} {:02} {:02} {:02}",
            rng.random_range(1..8),
            rng.random_range(0..100),
            rng.random_range(0..100),
            rng.random_range(0..100),
            rng.random_range(0..100)
        );
    }
}

/// `Éric El Amrani` → `ericelamrani`, for e-mail addresses.
fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ' ')
        .map(|c| match c.to_lowercase().next().unwrap_or(c) {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'ç' => 'c',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

fn pick<'a>(rng: &mut SmallRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// Writes `rows` customers as a semicolon-separated UTF-8 CSV, as French Excel users share.
pub fn write_csv(path: &Path, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut w =
        csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(std::io::BufWriter::with_capacity(
                1 << 16,
                std::fs::File::create(path)?,
            ));
    w.write_record(HEADERS)?;
    let mut g = Generator::new(42);
    for i in 0..rows {
        g.fill(i);
        w.write_record(&g.cells)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `rows` customers as XLSX in constant-memory mode: capital and UN number as numbers,
/// zip codes and SIRETs as text, as a careful user would type them. Strings are inline.
pub fn write_xlsx(path: &Path, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    write_workbook(path, rows, false)
}

/// The same with a shared-strings table, as Excel and LibreOffice write workbooks.
pub fn write_xlsx_shared_strings(path: &Path, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    write_workbook(path, rows, true)
}

fn write_workbook(
    path: &Path,
    rows: u64,
    shared_strings: bool,
) -> Result<(), Box<dyn std::error::Error>> {
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
    let mut g = Generator::new(42);
    for i in 0..rows {
        g.fill(i);
        let r = (i + 1) as u32;
        for (c, v) in g.cells.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            if NUMERIC.contains(&c) {
                ws.write_number(r, c as u16, v.parse::<f64>()?)?;
            } else {
                ws.write_string(r, c as u16, v)?;
            }
        }
    }
    wb.save(path)?;
    Ok(())
}

/// A generator: writes so many rows to a path.
pub type Writer = fn(&Path, u64) -> Result<(), Box<dyn std::error::Error>>;

/// The generated file `target/bench-data/NAME-ROWS.EXT`, written on first use.
pub fn data_file(name: &str, ext: &str, rows: u64, write: Writer) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{rows}.{ext}"));
    if !path.exists() {
        eprintln!("generating {} ...", path.display());
        let tmp = path.with_extension("tmp");
        write(&tmp, rows).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

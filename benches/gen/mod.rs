//! Customer lists like real ones, for every benchmark and for people to try custbulk on.
//!
//! A benchmark on a list with a few hundred distinct names measures tables that stay small; a
//! real list's do not. So every row here is a customer of its own: its name (as likely
//! duplicates compare names: folded, legal forms aside), its SIRET (Luhn-valid, from a distinct
//! SIREN; never La Poste's, whose rule differs) and each e-mail are distinct across the list.
//! Addresses are French: a street of [`words::STREETS`], one of twenty cities with its own
//! postcodes (`01000`, `06100` keep their zeros). A third of the rows are customers of
//! Maghrebi origin with an Arabic name and address; companies and a tenth of sole traders,
//! legal forms before or after some names, one or two contacts (or none), capitals typed with
//! and without thousands separators, SIRETs with and without spaces. The same seed gives the
//! same list.
//!
//! Shared through `#[path]` by the benchmarks and `examples/gen_customers.rs`.

#![allow(dead_code)]

mod words;
mod write;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Map, Value};

use words::{City, Trade};

/// Bumped whenever the lists change, so that files generated before are not reused.
const VERSION: u32 = 2;
/// The seed of every benchmark's data.
pub const SEED: u64 = 42;

pub const HEADERS: [&str; 22] = [
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
    "Contact 2 Nom",
    "Contact 2 Email",
    "Contact 2 Téléphone",
];

/// Where each value is among the cells.
pub mod col {
    pub const NAME: usize = 0;
    pub const IS_COMPANY: usize = 1;
    pub const CAPITAL: usize = 2;
    pub const MANAGER: usize = 3;
    pub const STREET1: usize = 4;
    pub const STREET2: usize = 5;
    pub const ZIP: usize = 6;
    pub const CITY: usize = 7;
    pub const SIRET: usize = 8;
    pub const RCS: usize = 9;
    pub const UN_NUMBER: usize = 10;
    pub const STATUS: usize = 11;
    pub const SUBJECT: usize = 12;
    pub const CATEGORY: usize = 13;
    pub const NAME_AR: usize = 14;
    pub const ADDRESS_AR: usize = 15;
    /// Contact `n` (0 or 1): name, e-mail, phone at `CONTACTS + 3 * n`.
    pub const CONTACTS: usize = 16;
}

/// Columns written as numbers in XLSX when they read as one (capital, UN number).
pub const NUMERIC: [usize; 2] = [col::CAPITAL, col::UN_NUMBER];

/// A person: first name and surname, each with its Arabic when the row has Arabic.
#[derive(Clone, Copy)]
struct Person {
    first: &'static str,
    surname: &'static str,
    first_ar: &'static str,
    surname_ar: &'static str,
}

/// Makes customers one after the other into `cells`, each distinct from every one before.
pub struct Generator {
    rng: SmallRng,
    /// Draws the edits of [`Generator::edit`], so that editing leaves the list's own draws as
    /// they were.
    edits: SmallRng,
    /// One row's cells, in [`HEADERS`] order.
    pub cells: Vec<String>,
    /// Hashes of the names made so far, as likely duplicates compare them.
    names: HashSet<u64>,
    emails: HashSet<u64>,
    /// SIRENs issued so far: the next one is a step further in a permutation of them.
    sirens: u64,
    siren_offset: u64,
    /// Customers made so far.
    pub made: u64,
    core: String,
}

/// SIREN bodies (8 digits before the check digit) are `10_000_000 + (k * STEP + offset) mod
/// SPAN`: STEP is prime to SPAN, so they never repeat.
const SPAN: u64 = 90_000_000;
const STEP: u64 = 48_271_237;
const LA_POSTE: &str = "356000000";

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut rng = SmallRng::seed_from_u64(seed);
        let siren_offset = rng.random_range(0..SPAN);
        Generator {
            edits: SmallRng::seed_from_u64(seed ^ 0x5eed_ed17),
            rng,
            cells: vec![String::new(); HEADERS.len()],
            names: HashSet::new(),
            emails: HashSet::new(),
            sirens: 0,
            siren_offset,
            made: 0,
            core: String::new(),
        }
    }

    /// Fills `cells` with the next customer.
    pub fn next(&mut self) {
        for cell in &mut self.cells {
            cell.clear();
        }
        let arabic = self.rng.random_ratio(1, 3);
        let company = !self.rng.random_ratio(1, 10);
        let trade = pick(&mut self.rng, words::TRADES);
        let owner = self.name(trade, arabic, company);
        self.cells[col::IS_COMPANY].push_str(if company { "oui" } else { "non" });
        if company {
            let capital = pick(&mut self.rng, words::CAPITALS);
            let cell = &mut self.cells[col::CAPITAL];
            if self.rng.random_ratio(3, 10) {
                grouped(capital, cell);
            } else {
                let _ = write!(cell, "{capital}");
            }
        }
        // The manager of a family business shares its name, most often.
        let manager = match self.rng.random_ratio(7, 10) {
            true => {
                let other = self.person(arabic);
                Person {
                    first: other.first,
                    first_ar: other.first_ar,
                    ..owner
                }
            }
            false => self.person(arabic),
        };
        let _ = write!(
            self.cells[col::MANAGER],
            "{} {}",
            manager.first,
            manager.surname
        );
        let city = self.address();
        if !self.rng.random_ratio(1, 20) {
            self.siret(company, city);
        }
        let c = &mut self.cells;
        if trade.fr == "Transports" && self.rng.random_ratio(3, 5) || self.rng.random_ratio(1, 50) {
            let _ = write!(c[col::UN_NUMBER], "{}", self.rng.random_range(1000..3600));
        }
        let status = match self.rng.random_range(0..20) {
            0..15 => "actif",
            15..17 => "inactif",
            _ => "prospect",
        };
        c[col::STATUS].push_str(status);
        c[col::SUBJECT].push_str(trade.subject);
        c[col::CATEGORY].push_str(trade.category);
        if arabic {
            self.arabic_address(city);
        }
        self.contacts(manager, arabic);
        self.made += 1;
    }

    /// Moves the current customer to another address and gives its first contact another
    /// phone: a day's edit, drawn apart from the list's own draws.
    pub fn edit(&mut self) {
        let number = self.edits.random_range(1..=180);
        let street = pick(&mut self.edits, words::STREETS);
        let c = &mut self.cells;
        c[col::STREET1].clear();
        let _ = write!(c[col::STREET1], "{number} {}", street.fr);
        if !c[col::ADDRESS_AR].is_empty() {
            let city_ar = c[col::ADDRESS_AR]
                .rsplit_once('،')
                .map(|(_, city)| city.trim().to_string())
                .unwrap_or_default();
            c[col::ADDRESS_AR].clear();
            let _ = write!(c[col::ADDRESS_AR], "{number} {}، {city_ar}", street.ar);
        }
        let phone = col::CONTACTS + 2;
        if !c[phone].is_empty() {
            c[phone].clear();
            phone_into(&mut self.edits, &mut c[phone]);
        }
    }

    /// A first name and surname, of Maghrebi origin when `arabic`.
    fn person(&mut self, arabic: bool) -> Person {
        if arabic {
            let first = pick(&mut self.rng, words::ARABIC_FIRST_NAMES);
            let surname = pick(&mut self.rng, words::ARABIC_SURNAMES);
            Person {
                first: first.fr,
                surname: surname.fr,
                first_ar: first.ar,
                surname_ar: surname.ar,
            }
        } else {
            Person {
                first: pick(&mut self.rng, words::FIRST_NAMES),
                surname: pick(&mut self.rng, words::SURNAMES),
                first_ar: "",
                surname_ar: "",
            }
        }
    }

    /// Writes the name (and the Arabic one) of a customer no earlier row has, and returns its
    /// owner. Shapes are drawn as real lists have them; a name taken already is drawn again.
    fn name(&mut self, trade: Trade, arabic: bool, company: bool) -> Person {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let owner = self.person(arabic);
            let other = self.person(arabic);
            let [name, .., name_ar] = &mut self.cells[col::NAME..=col::NAME_AR] else {
                unreachable!("the name's cells")
            };
            name.clear();
            name_ar.clear();
            let (p, o) = (&owner, &other);
            // After a few names already taken, the shape with the most names (millions).
            let shape = if attempts > 8 {
                10
            } else {
                self.rng.random_range(0..10)
            };
            if !company {
                match shape {
                    0..4 => write!(name, "{} {}", p.first, p.surname),
                    4..6 => write!(name, "{} {}", p.surname.to_uppercase(), p.first),
                    6..8 => write!(name, "{} {} EI", p.first, p.surname),
                    8..10 => write!(name, "{} {} {}", p.first, o.first, p.surname),
                    _ => write!(name, "{} {} {}-{}", p.first, o.first, p.surname, o.surname),
                }
                .unwrap();
                if arabic {
                    match shape {
                        10 => write!(name_ar, "{} {} و{}", p.first_ar, p.surname_ar, o.surname_ar),
                        _ => write!(name_ar, "{} {}", p.first_ar, p.surname_ar),
                    }
                    .unwrap();
                }
            } else {
                match shape {
                    0..2 => write!(name, "{} {}", trade.fr, p.surname),
                    2..3 => {
                        let q = pick(&mut self.rng, words::QUALIFIERS);
                        write!(name, "{} {} {q}", trade.fr, p.surname)
                    }
                    3..4 => write!(name, "{} {}", p.surname, trade.fr),
                    4..7 => write!(name, "{} {} {}", trade.fr, p.first, p.surname),
                    7..10 => write!(name, "{} {}-{}", trade.fr, p.surname, o.surname),
                    _ => write!(name, "{} {} {}-{}", trade.fr, p.first, p.surname, o.surname),
                }
                .unwrap();
                if arabic {
                    let (t, f, s, s2) = (trade.ar, p.first_ar, p.surname_ar, o.surname_ar);
                    match shape {
                        4..7 => write!(name_ar, "{t} {f} {s}"),
                        7..10 => write!(name_ar, "{t} {s} و{s2}"),
                        10 => write!(name_ar, "{t} {f} {s} و{s2}"),
                        _ => write!(name_ar, "{t} {s}"),
                    }
                    .unwrap();
                }
                match self.rng.random_range(0..20) {
                    0..3 => {
                        name.insert_str(0, &format!("{} ", pick(&mut self.rng, words::LEGAL_FORMS)))
                    }
                    3..5 => write!(name, " {}", pick(&mut self.rng, words::LEGAL_FORMS)).unwrap(),
                    _ => {}
                }
            }
            self.core.clear();
            custbulk::lookup::duplicates::core_name_into(name, &mut self.core);
            if self.names.insert(hash(&self.core)) {
                return owner;
            }
        }
    }

    /// Writes the street, postcode and city; returns the city.
    fn address(&mut self) -> &'static City {
        let c = &mut self.cells;
        let number = self.rng.random_range(1..=180);
        let street = pick(&mut self.rng, words::STREETS);
        let bis = if self.rng.random_ratio(1, 20) {
            " bis"
        } else {
            ""
        };
        let _ = write!(c[col::STREET1], "{number}{bis} {}", street.fr);
        if self.rng.random_ratio(1, 4) {
            c[col::STREET2].push_str(pick(&mut self.rng, words::SECOND_LINES));
        }
        let total: u32 = words::CITIES.iter().map(|c| c.weight).sum();
        let mut at = self.rng.random_range(0..total);
        let city = words::CITIES
            .iter()
            .find(|c| {
                let here = at < c.weight;
                at = at.saturating_sub(c.weight);
                here
            })
            .expect("a city");
        c[col::ZIP].push_str(pick(&mut self.rng, city.postcodes));
        c[col::CITY].push_str(city.name);
        city
    }

    /// The Arabic address: the same number and street, and the city.
    fn arabic_address(&mut self, city: &City) {
        let c = &mut self.cells;
        let (number, street) = c[col::STREET1].split_once(' ').unwrap_or_default();
        let street = street.trim_start_matches("bis ");
        let ar = words::STREETS
            .iter()
            .find(|s| s.fr == street)
            .map_or("شارع", |s| s.ar);
        let address = format!("{number} {ar}، {}", city.ar);
        c[col::ADDRESS_AR] = address;
    }

    /// A SIRET of a SIREN no earlier row has, and the RCS entry of a company.
    fn siret(&mut self, company: bool, city: &City) {
        let siren = loop {
            let body = 10_000_000 + (self.sirens * STEP + self.siren_offset) % SPAN;
            self.sirens += 1;
            let mut siren = body.to_string();
            siren.push(custbulk::validate::coerce::luhn_check_digit(&siren));
            if siren != LA_POSTE {
                break siren;
            }
        };
        let nic = if self.rng.random_ratio(4, 5) {
            1
        } else {
            self.rng.random_range(2..40)
        };
        let mut siret = format!("{siren}{nic:04}");
        siret.push(custbulk::validate::coerce::luhn_check_digit(&siret));
        let c = &mut self.cells;
        if self.rng.random_ratio(1, 5) {
            let _ = write!(
                c[col::SIRET],
                "{} {} {} {}",
                &siret[..3],
                &siret[3..6],
                &siret[6..9],
                &siret[9..]
            );
        } else {
            c[col::SIRET].push_str(&siret);
        }
        if company && !self.rng.random_ratio(3, 20) {
            let _ = write!(
                c[col::RCS],
                "RCS {} B {} {} {}",
                city.name,
                &siren[..3],
                &siren[3..6],
                &siren[6..]
            );
        }
    }

    /// No contact (one row in ten), one, or two (one in four), each with an e-mail no other
    /// row has.
    fn contacts(&mut self, manager: Person, arabic: bool) {
        let count = match self.rng.random_range(0..20) {
            0..2 => 0,
            2..15 => 1,
            _ => 2,
        };
        // The company's domain: its name as likely duplicates compare it, hyphenated.
        let domain: String = self
            .core
            .chars()
            .map(|c| if c == ' ' { '-' } else { c })
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        for n in 0..count {
            let person = match n {
                0 if self.rng.random_ratio(1, 2) => manager,
                _ => self.person(arabic),
            };
            let at = col::CONTACTS + 3 * n;
            let _ = write!(self.cells[at], "{} {}", person.first, person.surname);
            let mut email = String::new();
            match self.rng.random_range(0..10) {
                0..7 if !domain.is_empty() => {
                    let _ = write!(
                        email,
                        "{}.{}@{domain}.fr",
                        ascii(person.first),
                        ascii(person.surname)
                    );
                }
                7 if !domain.is_empty() => {
                    let _ = write!(email, "contact@{domain}.fr");
                }
                _ => {
                    let provider = pick(&mut self.rng, words::MAIL_PROVIDERS);
                    let _ = write!(
                        email,
                        "{}.{}@{provider}",
                        ascii(person.first),
                        ascii(person.surname)
                    );
                }
            }
            // Taken already: a number before the `@`, as people add one.
            let mut k = 1;
            while !self.emails.insert(hash(&email)) {
                k += 1;
                let at = email.find('@').expect("an @");
                let local = email[..at]
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .len();
                email.replace_range(local..at, &k.to_string());
            }
            self.cells[at + 1].push_str(&email);
            phone_into(&mut self.rng, &mut self.cells[at + 2]);
        }
    }

    /// The current customer as the API has it: typed values, contacts as an array, blank
    /// cells left out.
    pub fn record(&self) -> Map<String, Value> {
        let c = &self.cells;
        let mut r = Map::new();
        r.insert("name".into(), Value::from(c[col::NAME].as_str()));
        r.insert("isCompany".into(), Value::from(c[col::IS_COMPANY] == "oui"));
        let number = |i: usize| -> Option<i64> { c[i].replace(' ', "").parse().ok() };
        if let Some(n) = number(col::CAPITAL) {
            r.insert("capital".into(), n.into());
        }
        for (field, i) in [
            ("manager", col::MANAGER),
            ("name_ar", col::NAME_AR),
            ("address_ar", col::ADDRESS_AR),
            ("street1", col::STREET1),
            ("street2", col::STREET2),
            ("zipCode", col::ZIP),
            ("city", col::CITY),
        ] {
            if !c[i].is_empty() {
                r.insert(field.into(), Value::from(c[i].as_str()));
            }
        }
        let contacts: Vec<Value> = (0..2)
            .map(|n| col::CONTACTS + 3 * n)
            .filter(|&at| !c[at].is_empty())
            .map(|at| json!({"name": c[at], "email": c[at + 1], "phone": c[at + 2]}))
            .collect();
        if !contacts.is_empty() {
            r.insert("contacts".into(), Value::Array(contacts));
        }
        if !c[col::SIRET].is_empty() {
            r.insert("siret".into(), c[col::SIRET].replace(' ', "").into());
        }
        if !c[col::RCS].is_empty() {
            r.insert("rcs".into(), Value::from(c[col::RCS].as_str()));
        }
        if let Some(n) = number(col::UN_NUMBER) {
            r.insert("unNumber".into(), n.into());
        }
        for (field, i) in [
            ("status", col::STATUS),
            ("subject", col::SUBJECT),
            ("category", col::CATEGORY),
        ] {
            r.insert(field.into(), Value::from(c[i].as_str()));
        }
        r
    }

    /// The current customer as the API serves it (and `custbulk export` writes it): the id
    /// first, then the fields, then the timestamps, as the sandbox stores records.
    pub fn served(&self, id: &str, created: &str, updated: &str) -> Map<String, Value> {
        let mut r = Map::new();
        r.insert("_id".into(), id.into());
        r.extend(self.record());
        r.insert("createdAt".into(), created.into());
        r.insert("updatedAt".into(), updated.into());
        r
    }
}

fn hash(s: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(s)
}

fn pick<T: Copy>(rng: &mut SmallRng, list: &[T]) -> T {
    list[rng.random_range(0..list.len())]
}

/// `37000` as `37 000`.
fn grouped(n: u32, out: &mut String) {
    let digits = n.to_string();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(d);
    }
}

/// A French phone number, written as people write them.
fn phone_into(rng: &mut SmallRng, out: &mut String) {
    let lead = pick(rng, &[1, 2, 3, 4, 5, 6, 7, 9]);
    let pairs: Vec<u32> = (0..4).map(|_| rng.random_range(0..100)).collect();
    let _ = match rng.random_range(0..20) {
        0..12 => write!(
            out,
            "0{lead} {:02} {:02} {:02} {:02}",
            pairs[0], pairs[1], pairs[2], pairs[3]
        ),
        12..17 => write!(
            out,
            "+33 {lead} {:02} {:02} {:02} {:02}",
            pairs[0], pairs[1], pairs[2], pairs[3]
        ),
        _ => write!(
            out,
            "0{lead}{:02}{:02}{:02}{:02}",
            pairs[0], pairs[1], pairs[2], pairs[3]
        ),
    };
}

/// `Jean-Pierre` → `jean-pierre`, `Éric` → `eric`, `Le Gall` → `legall`, for e-mail addresses.
fn ascii(name: &str) -> String {
    custbulk::lookup::fold::fold(name)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The id, creation time and last update of customer `i` of a list, as the API gives them:
/// one customer every two minutes from January 2020; an edit on 2026-12-06.
pub fn stamps(i: u64, edited: bool) -> (String, String, String) {
    let id = format!(
        "{:08x}{:010x}{:06x}",
        0x5e12_e800 + i / 1000,
        0x5c_1d3a_07e2u64,
        i % 0x100_0000
    );
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .expect("a date")
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    let created = 1_578_297_600_000 + i as i64 * 120_000;
    let updated = if edited { 1_796_549_400_000 } else { created };
    (id, at(created), at(updated))
}

/// The first `rows` customers of the list (seed [`SEED`]) as the API serves them, those
/// `edited` picks edited (see [`Generator::edit`]).
pub fn served(rows: u64, edited: fn(u64) -> bool) -> impl Iterator<Item = Map<String, Value>> {
    let mut g = Generator::new(SEED);
    (0..rows).map(move |i| {
        g.next();
        let edited = edited(i);
        if edited {
            g.edit();
        }
        let (id, created, updated) = stamps(i, edited);
        g.served(&id, &created, &updated)
    })
}

#[allow(unused_imports)]
pub use write::{data_file, data_file_made, write, Format};

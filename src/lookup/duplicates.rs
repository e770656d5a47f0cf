//! Likely duplicates: when a row would create a customer, is there one already that is
//! probably the same?
//!
//! A key is near-exact on purpose (it decides which customer an update changes); a duplicate
//! is a looser resemblance, said before the customer is made twice. Two customers are likely
//! the same when
//!
//! - they have the same SIRET; or, when one of them has no SIRET (two different SIRETs are two
//!   establishments, whatever their names),
//! - their names are the same once [folded](super::fold), with punctuation and legal forms
//!   ([`LEGAL_FORMS`]) set aside (`SARL Épicerie Zoé` is `Epicerie Zoe`), and they have the
//!   same postcode, or, when one of them has no postcode, the same city.
//!
//! Two different SIRETs with the same SIREN (their first 9 digits) are another establishment
//! of the same company: worth saying, but not a duplicate.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::key::{normalise_into, Part, Val};
pub use super::name::{core_name, core_name_into, LEGAL_FORMS};
use crate::api::Record;
use crate::schema::FIELDS;

/// Between the parts of a probe value (as in keys).
const JOIN: char = '\u{1f}';

/// Why a customer resembles another, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Why {
    /// The row's `--match-on` key finds it.
    SameKey,
    SameSiret,
    SamePostcode,
    SameCity,
    /// Different SIRETs, same SIREN: another establishment of the same company.
    SameCompany,
}

impl Why {
    /// A likely duplicate; [`Why::SameCompany`] is not one.
    pub fn is_duplicate(self) -> bool {
        self != Why::SameCompany
    }

    pub fn words(self) -> &'static str {
        match self {
            Why::SameKey => "same --match-on key",
            Why::SameSiret => "same SIRET",
            Why::SamePostcode => "same name and postcode",
            Why::SameCity => "same name and city",
            Why::SameCompany => "same SIREN",
        }
    }

    /// Whether it is the same customer by an identifier, not only by likeness: the same SIRET,
    /// or the same `--match-on` key.
    pub fn is_identity(self) -> bool {
        matches!(self, Why::SameKey | Why::SameSiret)
    }
}

/// The fields a likeness is made of, with their parts, found once.
static PARTS: std::sync::LazyLock<[(&str, Part); 4]> = std::sync::LazyLock::new(|| {
    ["siret", "name", "zipCode", "city"].map(|name| {
        let i = FIELDS.iter().position(|f| f.name == name);
        (name, Part::Field(i.expect("a field of the schema")))
    })
});

/// What two customers are compared on, each in its compared form; empty when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Likeness {
    pub siret: String,
    /// The name as [`core_name_into`] has it.
    pub name: String,
    pub zip: String,
    pub city: String,
}

/// What a likeness is looked up by, each kind in a table of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    Siret,
    NamePostcode,
    NameCity,
    Siren,
}

impl Likeness {
    /// The likeness of a stored record, or of a row's body.
    pub fn of_record(record: &Record) -> Likeness {
        let mut out = Likeness::default();
        out.fill(|field| Val::of_json(record.get(field)?));
        out
    }

    /// Refills from `get`, each field's value, reusing the buffers.
    pub fn fill<'a>(&mut self, get: impl Fn(&'static str) -> Option<Val<'a>>) {
        let [siret, name, zip, city] = &*PARTS;
        let field = |(name, part): (&'static str, Part), out: &mut String| {
            out.clear();
            if let Some(value) = get(name) {
                match (name, value) {
                    ("name", Val::Text(s)) => core_name_into(s, out),
                    _ => normalise_into(part, value, out),
                }
            }
        };
        field(*siret, &mut self.siret);
        field(*name, &mut self.name);
        field(*zip, &mut self.zip);
        field(*city, &mut self.city);
    }

    /// The SIREN: the first 9 digits of a 14-digit SIRET.
    pub fn siren(&self) -> Option<&str> {
        let s = &self.siret;
        (s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit())).then(|| &s[..9])
    }

    /// Whether `other` is probably the same customer, or the same company, and why.
    pub fn compare(&self, other: &Likeness) -> Option<Why> {
        if !self.siret.is_empty() && !other.siret.is_empty() {
            return if self.siret == other.siret {
                Some(Why::SameSiret)
            } else if self.siren().is_some() && self.siren() == other.siren() {
                Some(Why::SameCompany)
            } else {
                None
            };
        }
        if self.name.is_empty() || self.name != other.name {
            return None;
        }
        if !self.zip.is_empty() && !other.zip.is_empty() {
            return (self.zip == other.zip).then_some(Why::SamePostcode);
        }
        (!self.city.is_empty() && self.city == other.city).then_some(Why::SameCity)
    }

    /// Calls `f` with each probe this likeness can be found by, and its value.
    pub fn probes(&self, scratch: &mut String, mut f: impl FnMut(Probe, &str)) {
        if !self.siret.is_empty() {
            f(Probe::Siret, &self.siret);
        }
        if let Some(siren) = self.siren() {
            f(Probe::Siren, siren);
        }
        for (probe, place) in [
            (Probe::NamePostcode, &self.zip),
            (Probe::NameCity, &self.city),
        ] {
            if !self.name.is_empty() && !place.is_empty() {
                scratch.clear();
                scratch.push_str(&self.name);
                scratch.push(JOIN);
                scratch.push_str(place);
                f(probe, scratch);
            }
        }
    }
}

/// A customer a row resembles: probably the same one (a likely duplicate), or another
/// establishment of the same company. Kept in the journal with the row's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Likely {
    pub id: String,
    pub why: Why,
    /// Other customers that resemble the row as much.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<String>,
}

impl Likely {
    pub fn is_duplicate(&self) -> bool {
        self.why.is_duplicate()
    }

    /// `possible duplicate of 64f1... on the server (same SIRET)`: the display, with `place`
    /// said after the ids.
    pub fn describe(&self, place: &str) -> String {
        let mut ids = self.id.clone();
        for other in &self.others {
            ids.push_str(" or ");
            ids.push_str(other);
        }
        let why = self.why.words();
        if self.is_duplicate() {
            format!("{DUPLICATE}{ids}{place} ({why})")
        } else {
            format!("{SAME_COMPANY}{ids}{place} ({why})")
        }
    }
}

/// How the messages about likely duplicates begin, so that the annotated copy knows them.
const DUPLICATE: &str = "possible duplicate of ";
const SAME_COMPANY: &str = "another establishment of the same company as ";
/// The within-file warning's words.
pub const SAME_ROWS: &str = "are likely the same customer";

/// Whether a problem's message is about a likely duplicate (or the same company): the
/// annotated copy gives it no "Expected" line, and marks the outcome of an import's row.
pub fn is_message(message: &str) -> bool {
    message.starts_with(DUPLICATE)
        || message.starts_with(SAME_COMPANY)
        || message.contains(SAME_ROWS)
}

impl fmt::Display for Likely {
    /// `possible duplicate of 64f1... (same SIRET)`, for results files and notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(""))
    }
}

/// What an import does with a row that would create a likely duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnDuplicate {
    /// Leave out a row whose SIRET (or --match-on key) finds a customer (`skipped-duplicate`);
    /// create one that only resembles a customer by name, and say so.
    #[default]
    SkipSameKey,
    /// Create it anyway, and say of which customer it is a possible duplicate.
    Create,
    /// Leave out every likely duplicate: its outcome is `skipped-duplicate`.
    Skip,
    /// Update the customer it probably duplicates instead.
    Update,
}

impl OnDuplicate {
    /// Whether a row's `--match-on` key is looked up before it is created (rows the key finds
    /// are duplicates): for every choice but `create`.
    pub fn checks_keys(self) -> bool {
        self != OnDuplicate::Create
    }
}

/// What becomes of a row that would create a customer.
#[derive(Debug)]
pub enum Decision {
    /// Create it; the customer it resembles, if any, is said.
    Create(Option<Likely>),
    /// Leave it out (`--on-duplicate skip`).
    Skip(Likely),
    /// Update this customer instead (`--on-duplicate update`).
    Update(Record, Likely),
}

/// The first rows of a create looked at before any is sent: when more than half of them would
/// be likely duplicates, the file was most likely imported before.
pub const SAMPLE: usize = 100;

/// Why a create should not start, when more than half of the `sample` rows looked at (the
/// first [`SAMPLE`] that would create a customer) are likely duplicates: `found` counts them by
/// why. [`INSTEAD`] says what to do.
pub fn imported_before(
    sample: usize,
    found: &std::collections::BTreeMap<Why, usize>,
) -> Option<String> {
    let duplicates: usize = found.values().sum();
    if duplicates * 2 <= sample {
        return None;
    }
    let whys: Vec<String> = found
        .iter()
        .map(|(why, n)| format!("{n}: {}", why.words()))
        .collect();
    Some(format!(
        "{duplicates} of the first {sample} rows would create a customer the account most likely \
         has already ({}): this file looks imported before",
        whys.join(", ")
    ))
}

/// What to do instead, after [`imported_before`]'s reason.
pub const INSTEAD: &str = "To update those customers instead, run with --mode upsert (and \
     --match-on siret, or your key); to leave the likely duplicates out and create the rest, \
     --on-duplicate skip; to create them anyway, --on-duplicate create";

/// Decides by `choice` for a row that resembles the customers `found` (strongest first, as
/// [`super::Index::resembling`] gives them). Another establishment of the same company is said
/// but never skipped or updated. `--on-duplicate update` with two customers as likely fails the
/// row: nothing says which one to update.
pub fn decide(mut found: Vec<(Record, Why)>, choice: OnDuplicate) -> Result<Decision, String> {
    let Some(&(_, why)) = found.first() else {
        return Ok(Decision::Create(None));
    };
    found.retain(|(_, w)| *w == why);
    let mut ids = found
        .iter()
        .map(|(r, _)| crate::api::record_id(r).unwrap_or_default());
    let likely = Likely {
        id: ids.next().unwrap_or_default(),
        why,
        others: ids.collect(),
    };
    if !why.is_duplicate() {
        return Ok(Decision::Create(Some(likely)));
    }
    Ok(match choice {
        OnDuplicate::Create => Decision::Create(Some(likely)),
        OnDuplicate::SkipSameKey if !why.is_identity() => Decision::Create(Some(likely)),
        OnDuplicate::Skip | OnDuplicate::SkipSameKey => Decision::Skip(likely),
        OnDuplicate::Update if likely.others.is_empty() => {
            let (record, _) = found.swap_remove(0);
            Decision::Update(record, likely)
        }
        OnDuplicate::Update => {
            return Err(format!(
                "{} customers are as likely to be this one ({}): --on-duplicate update cannot \
                 choose; match it by its id, or fix the duplicates",
                likely.others.len() + 1,
                likely.why.words()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn like(value: serde_json::Value) -> Likeness {
        Likeness::of_record(value.as_object().unwrap())
    }

    #[test]
    fn same_name_and_postcode_is_a_duplicate_and_another_postcode_is_not() {
        let server = like(json!({"name": "Epicerie Zoe", "zipCode": "75011", "city": "Paris"}));
        let row = like(json!({"name": "SARL Épicerie Zoé", "zipCode": "75011"}));
        assert_eq!(row.compare(&server), Some(Why::SamePostcode));
        let elsewhere =
            like(json!({"name": "SARL Épicerie Zoé", "zipCode": "75012", "city": "Paris"}));
        assert_eq!(elsewhere.compare(&server), None);
        let no_zip = like(json!({"name": "Épicerie Zoé", "city": " PARIS "}));
        assert_eq!(no_zip.compare(&server), Some(Why::SameCity));
        let other = like(json!({"name": "Épicerie Zoélie", "zipCode": "75011"}));
        assert_eq!(other.compare(&server), None);
    }

    #[test]
    fn sirets_decide_when_both_have_one() {
        let a = like(json!({"name": "A", "siret": "552 120 222 00013", "zipCode": "1"}));
        let same = like(json!({"name": "Other", "siret": "55212022200013"}));
        assert_eq!(a.compare(&same), Some(Why::SameSiret));
        let branch = like(json!({"name": "A", "siret": "55212022200021", "zipCode": "1"}));
        assert_eq!(a.compare(&branch), Some(Why::SameCompany));
        assert!(!Why::SameCompany.is_duplicate());
        let other = like(json!({"name": "A", "siret": "73282932000074", "zipCode": "1"}));
        assert_eq!(a.compare(&other), None, "two SIRETs, two establishments");
        let none = like(json!({"name": "A", "zipCode": "1"}));
        assert_eq!(a.compare(&none), Some(Why::SamePostcode));
    }

    #[test]
    fn likely_duplicates_say_whom_and_why() {
        let likely = Likely {
            id: "c1".into(),
            why: Why::SamePostcode,
            others: vec!["c2".into()],
        };
        assert_eq!(
            likely.to_string(),
            "possible duplicate of c1 or c2 (same name and postcode)"
        );
        let company = Likely {
            id: "c3".into(),
            why: Why::SameCompany,
            others: vec![],
        };
        assert_eq!(
            company.to_string(),
            "another establishment of the same company as c3 (same SIREN)"
        );
    }

    #[test]
    fn by_default_a_same_siret_is_skipped_and_a_same_name_created_and_said() {
        let customer = |id: &str| crate::api::Record::from_iter([("_id".into(), id.into())]);
        let siret = vec![(customer("c1"), Why::SameSiret)];
        let skipped = decide(siret.clone(), OnDuplicate::SkipSameKey).unwrap();
        assert!(matches!(skipped, Decision::Skip(l) if l.id == "c1"));
        let key = vec![(customer("c2"), Why::SameKey)];
        let skipped = decide(key, OnDuplicate::SkipSameKey).unwrap();
        assert!(matches!(skipped, Decision::Skip(l) if l.why == Why::SameKey));
        let name = vec![(customer("c3"), Why::SamePostcode)];
        let created = decide(name, OnDuplicate::SkipSameKey).unwrap();
        assert!(matches!(created, Decision::Create(Some(l)) if l.id == "c3"));
        let created = decide(siret, OnDuplicate::Create).unwrap();
        assert!(matches!(created, Decision::Create(Some(_))));
    }

    #[test]
    fn a_create_stops_when_more_than_half_of_its_first_rows_are_likely_duplicates() {
        let found = std::collections::BTreeMap::from([(Why::SameSiret, 50)]);
        assert_eq!(imported_before(100, &found), None, "half is not most");
        let found = std::collections::BTreeMap::from([(Why::SameSiret, 48), (Why::SameCity, 3)]);
        let why = imported_before(100, &found).unwrap();
        assert!(
            why.starts_with("51 of the first 100 rows")
                && why.contains("48: same SIRET, 3: same name and city"),
            "{why}"
        );
        assert_eq!(imported_before(0, &Default::default()), None);
    }

    /// The README's table of likely duplicates.
    #[test]
    fn the_readme_examples_are_likely_duplicates_as_it_says() {
        let row = like(json!({"name": "SARL Épicerie Zoé", "zipCode": "75011"}));
        let server = like(json!({"name": "Epicerie Zoe", "zipCode": "75011"}));
        assert_eq!(row.compare(&server), Some(Why::SamePostcode));
        let row = like(json!({"name": "S.A.R.L. L'Atelier", "city": "Lyon"}));
        let server = like(json!({"name": "L'Atelier SAS", "zipCode": "69001", "city": "Lyon"}));
        assert_eq!(row.compare(&server), Some(Why::SameCity));
        let row = like(json!({"name": "Épicerie Zoé", "zipCode": "75011"}));
        let server = like(json!({"name": "Épicerie Zoé", "zipCode": "13001"}));
        assert_eq!(row.compare(&server), None);
        let row = like(json!({"siret": "55212022200013"}));
        let server = like(json!({"siret": "55212022200021"}));
        assert_eq!(row.compare(&server), Some(Why::SameCompany));
    }
}

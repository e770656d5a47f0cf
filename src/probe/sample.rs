//! The probe's test customer: a name that says what it is and when it was made, values chosen to
//! show whether the server gives them back as sent (a number, a zero-padded zip code, contact
//! keys, a boolean, Arabic text with a composed letter), and how to recognise one left behind
//! by a probe that was killed.

use serde_json::{json, Value};

use crate::api::Record;
use crate::schema::{self, Kind};

const PREFIX: &str = "custbulk check ";
const SUFFIX: &str = ", safe to delete";
/// `2026-12-01T10:00:00Z`
const STAMP_LEN: usize = 20;

/// What the probe searches for to find earlier probes' customers.
pub const SEARCH: &str = "custbulk check";

pub const CITY: &str = "Lyon";
pub const PATCHED_CITY: &str = "Paris";
pub const PUT_CITY: &str = "Marseille";
pub const STREET1: &str = "1 rue de la Paix";
pub const STREET2: &str = "Bâtiment B";
pub const CAPITAL: i64 = 1000;
pub const ZIP_CODE: &str = "01000";
/// With أ (alef with hamza above), which Unicode normalisation would decompose.
pub const NAME_AR: &str = "شركة الأمل للاختبار";
pub const ADDRESS_AR: &str = "شارع الاختبار ١";

/// `custbulk check 2026-12-01T10:00:00Z, safe to delete`, for the time now.
pub fn name_now() -> String {
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    format!("{PREFIX}{stamp}{SUFFIX}")
}

/// Whether `name` is exactly a probe's name, so deleting it deletes no real customer.
pub fn is_probe_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
    else {
        return false;
    };
    stamp.len() == STAMP_LEN
        && stamp.ends_with('Z')
        && chrono::DateTime::parse_from_rfc3339(stamp).is_ok()
}

/// The record the probe creates.
pub fn record(name: &str) -> Record {
    let value = json!({
        "name": name,
        "isCompany": true,
        "capital": CAPITAL,
        "zipCode": ZIP_CODE,
        "city": CITY,
        "street1": STREET1,
        "street2": STREET2,
        "name_ar": NAME_AR,
        "address_ar": ADDRESS_AR,
        "contacts": [{
            "name": "Contact de test",
            "email": "check@example.invalid",
            "phone": "+33 1 23 45 67 89"
        }],
    });
    match value {
        Value::Object(record) => record,
        _ => Record::new(),
    }
}

/// A value of the right type for a field a server says it requires.
pub fn filler(field: &str) -> Value {
    match schema::field(field).map(|f| f.kind) {
        Some(Kind::Boolean) => json!(true),
        Some(Kind::Integer) => json!(1),
        Some(Kind::Contacts) => json!([]),
        // A SIRET with a valid checksum, in case the server checks it.
        Some(Kind::Text) if field == "siret" => json!("73282932000074"),
        _ => json!("custbulk check"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_probe_names_are_recognised() {
        assert!(is_probe_name(&name_now()));
        assert!(is_probe_name(
            "custbulk check 2026-12-01T10:00:00Z, safe to delete"
        ));
        for other in [
            "custbulk check 2026-12-01T10:00:00Z, safe to delete!",
            "custbulk check 2026-12-01, safe to delete",
            "custbulk check yesterday at noon!!, safe to delete",
            "Custbulk check 2026-12-01T10:00:00Z, safe to delete",
            "custbulk check",
        ] {
            assert!(!is_probe_name(other), "{other}");
        }
    }

    #[test]
    fn the_arabic_sample_is_composed_so_normalisation_shows() {
        use unicode_normalization::UnicodeNormalization;
        let decomposed: String = NAME_AR.nfd().collect();
        assert_ne!(decomposed, NAME_AR);
        let siret = filler("siret");
        assert_eq!(siret.as_str().map(str::len), Some(14));
    }
}

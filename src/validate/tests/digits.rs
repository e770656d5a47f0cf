//! Digits as the users' files hold them: Arabic-Indic and Persian digits with the Arabic
//! separators, Excel's `="01000"`, and a SIRET that lost its leading zero in a number cell.

use super::*;

#[test]
fn arabic_indic_and_persian_digits_are_whole_numbers() {
    for (text, want) in [
        ("١٢٠٬٠٠٠", 120_000),
        ("۲۵۰۰۰", 25_000),
        ("٢ ٠٠٠ ٠٠٠", 2_000_000),
        ("١٢٠٫٠", 120),
        // The Arabic decimal separator is never a thousands separator, unlike `.`.
        ("١٢٠٫٠٠٠", 120),
        ("120٬000", 120_000),
        ("٠", 0),
    ] {
        assert_eq!(coerce::parse_int(text), Ok(want), "{text}");
    }
    for (text, err) in [
        ("١٢٫٥", IntError::Fraction),
        ("١٢٬٣٤", IntError::Grouping),
        ("١٫٢٫٣", IntError::NotNumber),
        ("١٢ab", IntError::NotNumber),
    ] {
        assert_eq!(coerce::parse_int(text), Err(err), "{text}");
    }
    assert_eq!(
        json(&one("capital", "١٢٠٬٠٠٠"), "capital"),
        Some(serde_json::json!(120_000))
    );
}

/// Postcodes, SIRETs and RCS numbers are stored with ASCII digits; the cell itself (which the
/// results file writes back) is left as typed.
#[test]
fn digits_in_postcodes_sirets_and_rcs_are_stored_as_ascii() {
    let zip = one("zipCode", "٠١٠٠٠");
    assert_eq!(json(&zip, "zipCode"), Some(serde_json::json!("01000")));
    assert_eq!(zip.cells.get(1), Some("٠١٠٠٠"));
    let mut s = Sheet::new(&["name", "siret", "rcs"]);
    let c = s.check(&["Acme", "٥٥٢ ١٢٠ ٢٢٢ ٠٠٠١٣", "RCS Paris B ۵۵۲ ۱۲۰ ۲۲۲"]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(json(c, "siret"), Some(serde_json::json!("55212022200013")));
    assert_eq!(
        json(c, "rcs"),
        Some(serde_json::json!("RCS Paris B 552 120 222"))
    );
    // Arabic letters around the digits stay as they are.
    assert_eq!(
        json(&one("address_ar", "١٢ شارع الحرية"), "address_ar"),
        Some(serde_json::json!("١٢ شارع الحرية"))
    );
}

#[test]
fn excel_text_formulas_read_as_the_text_inside() {
    assert_eq!(coerce::cell_text(" =\"01000\" "), "01000");
    assert_eq!(coerce::cell_text("=\"\""), "");
    // Other formulas, and text that merely starts with `=`, stay as written.
    assert_eq!(coerce::cell_text("=\"a\"&\"b\""), "=\"a\"&\"b\"");
    assert_eq!(coerce::cell_text("=SUM(A1:A2)"), "=SUM(A1:A2)");
    assert_eq!(coerce::cell_text("= 3"), "= 3");
    let zip = one("zipCode", "=\"01000\"");
    assert_eq!(json(&zip, "zipCode"), Some(serde_json::json!("01000")));
    assert!(one("siret", "=\"55212022200013\"").is_valid());
    let mut s = Sheet::new(&["name", "Contact 1 Téléphone"]);
    let c = s.check(&["Acme", "=\"0612345678\""]);
    assert_eq!(
        json(c, "contacts"),
        Some(serde_json::json!([{"phone": "0612345678"}]))
    );
}

/// A SIRET typed in a number cell loses its leading zero: the message says so, and gives the
/// 14-digit value when that one passes the checksum.
#[test]
fn a_thirteen_digit_siret_is_a_lost_leading_zero() {
    let payload = "0412345678001";
    let siret = format!("{payload}{}", coerce::luhn_check_digit(payload));
    let c = one("siret", &siret[1..]);
    let message = &c.problems[0].message;
    assert!(!c.is_valid());
    assert!(message.contains("has 13 digits"), "{message}");
    assert!(message.contains("leading 0 was probably lost"), "{message}");
    assert!(
        message.contains(&format!("{siret:?} passes the checksum")),
        "{message}"
    );
    // Without a zero that makes it whole, no value is suggested.
    let c = one("siret", "1234567890123");
    assert!(
        c.problems[0]
            .message
            .contains("does not pass the checksum either"),
        "{}",
        c.problems[0].message
    );
}

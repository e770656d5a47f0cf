//! The list walk's page reading and end-of-list rules.

use super::*;
use crate::api::envelope::parse_page;
use serde_json::json;

fn page(ids: &[&str]) -> Page {
    Page {
        items: ids
            .iter()
            .map(|id| json!({"_id": id, "n": 1}).as_object().unwrap().clone())
            .collect(),
        envelope: Envelope::Array,
        total: None,
        total_from: None,
        total_pages: None,
        has_next: None,
        limit: None,
    }
}

pub(super) fn fetched(ids: &[&str]) -> Fetched {
    Fetched::compact(page(ids), true)
}

pub(super) fn lines(batch: &Batch) -> Vec<String> {
    String::from_utf8(batch.lines.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn pages_are_compacted_to_lines_with_their_keys() {
    let f = fetched(&["a", "b"]);
    assert_eq!(
        f.lines,
        b"{\"_id\":\"a\",\"n\":1}\n{\"_id\":\"b\",\"n\":1}\n"
    );
    let mut keys = f.keys.clone();
    keys.sort();
    assert_eq!(keys, ["_id", "n"]);
    assert_eq!(f.meta.count, 2);
}

#[test]
fn raw_records_are_written_as_sent_one_line_each_with_the_same_ids() {
    let body = br#"{"docs": [
            {"_id": "a", "name": "Caf\u00e9",
             "n": 12345678901234567890123},
            {"id": 7, "name": "x"},
            {"_id": {"$oid": "b"}},
            {"name": "no id"},
            {"_id": "c", "_id": "d"},
            {"_id": "e\"f"},
            { "_id" : "", "id": 9}
        ], "totalDocs": 7, "hasNextPage": false}"#;
    let page = crate::api::envelope::parse_raw_page(body, None).unwrap();
    assert_eq!((page.total, page.has_next), (Some(7), Some(false)));
    let raw = Fetched::raw(page);
    let text = String::from_utf8(raw.lines.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert_eq!(
        lines[0], r#"{"_id": "a", "name": "Caf\u00e9",              "n": 12345678901234567890123}"#,
        "the server's own text: escapes and digits kept"
    );
    let parsed = Fetched::compact(parse_page(body, None).unwrap(), false);
    let prints = |f: &Fetched| f.spans.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>();
    let (raw_prints, parsed_prints) = (prints(&raw), prints(&parsed));
    assert_eq!(
        raw_prints[..3],
        parsed_prints[..3],
        "ids read as a parsed record's"
    );
    assert_eq!(
        raw_prints[4], parsed_prints[4],
        "a repeated key: the last wins"
    );
    assert_eq!(
        raw_prints[5..],
        parsed_prints[5..],
        "an escaped id, and an empty one beside an `id`"
    );
    assert!(!raw_prints[3].1, "no id");
    assert!(crate::api::envelope::parse_raw_page(br#"{"docs": [1, 2]}"#, None).is_err());
}

#[test]
fn the_end_is_read_from_the_best_signal() {
    let mut p = fetched(&["a"]).meta;
    assert!(!is_end(1, &p, 1), "a bare array ends only on an empty page");
    assert!(is_end(1, &fetched(&[]).meta, 1));
    p.total = Some(3);
    assert!(!is_end(2, &p, 1) && is_end(3, &p, 1));
    p.total_pages = Some(2);
    assert!(is_end(2, &p, 1));
    p.has_next = Some(true);
    assert!(!is_end(2, &p, 1), "hasNextPage wins: the list grew");
}

#[test]
fn a_capped_page_size_is_detected() {
    let mut p = fetched(&["a", "b"]).meta;
    assert_eq!(page_size(&p, 100), 100, "no total: cannot tell a cap");
    p.total = Some(10);
    assert_eq!(page_size(&p, 100), 2);
    assert_eq!(last_page(&p, 2), Some(5));
    p.limit = Some(50);
    assert_eq!(page_size(&p, 100), 50);
}

//! Reading a few things out of a stored record's JSON without building the whole object: the
//! values of named top-level fields (for `p` and `sortBy`) and whether some text contains the
//! search string (for `q`). Filtering or sorting a million records scans each once; skipping
//! what is not asked for keeps that scan several times cheaper than parsing every record.
//! Also: reading a data file's array one customer at a time.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Calls `each` with the position (from 1) and value of every element of a JSON array, one at a
/// time, so a large data file is never held parsed as a whole. `each` stops the read by
/// returning an error message.
pub(crate) fn each_in_array(
    json: &[u8],
    each: impl FnMut(usize, Value) -> Result<(), String>,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    EachInArray(each).deserialize(&mut de)?;
    de.end()
}

struct EachInArray<F>(F);

impl<'de, F: FnMut(usize, Value) -> Result<(), String>> DeserializeSeed<'de> for EachInArray<F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(usize, Value) -> Result<(), String>> Visitor<'de> for EachInArray<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut position = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            position += 1;
            (self.0)(position, value).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// The values of the named top-level fields, in the order of `names` (`None` when absent).
pub(crate) fn pick(json: &[u8], names: &[&str]) -> Vec<Option<Value>> {
    let mut de = serde_json::Deserializer::from_slice(json);
    Pick(names)
        .deserialize(&mut de)
        .unwrap_or_else(|_| vec![None; names.len()])
}

/// Whether a string anywhere in the record, outside the top-level fields named in `skip`,
/// contains `needle` (already lower-cased), ignoring case.
pub(crate) fn contains_text(json: &[u8], needle: &str, skip: &[&str]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(json);
    TopSearch { needle, skip }
        .deserialize(&mut de)
        .unwrap_or(false)
}

/// Case-insensitive substring test; `needle` is already lower-cased.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let n = needle.len();
        n <= hay.len()
            && hay
                .as_bytes()
                .windows(n)
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

struct Pick<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Vec<Option<Value>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Vec<Option<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = vec![None; self.0.len()];
        while let Some(wanted) = map.next_key_seed(KeyIndex(self.0))? {
            match wanted {
                Some(i) => out[i] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A map key read as its position in a list of names, without allocating.
struct KeyIndex<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIndex<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|n| *n == key))
    }
}

struct TopSearch<'a> {
    needle: &'a str,
    skip: &'a [&'a str],
}

impl<'de> DeserializeSeed<'de> for TopSearch<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSearch<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(skipped) = map.next_key_seed(KeyIndex(self.skip))? {
            // The rest of the object must still be read for the parse to end cleanly.
            if found || skipped.is_some() {
                map.next_value::<IgnoredAny>()?;
            } else {
                found = map.next_value_seed(Search(self.needle))?;
            }
        }
        Ok(found)
    }
}

/// Searches any JSON value for the needle in its strings (object keys excepted).
struct Search<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Search<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Search<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<bool, E> {
        Ok(contains_ci(s, self.0))
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        loop {
            if found {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
            } else {
                match seq.next_element_seed(Search(self.0))? {
                    Some(hit) => found = hit,
                    None => break,
                }
            }
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while map.next_key::<IgnoredAny>()?.is_some() {
            if found {
                map.next_value::<IgnoredAny>()?;
            } else {
                found = map.next_value_seed(Search(self.0))?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = r#"{"_id":"a1","name":"Boulangerie \"Martin\"","capital":5,"contacts":[{"name":"Jeanne","email":"J@EXAMPLE.fr"}],"createdAt":"martin"}"#;

    #[test]
    fn pick_reads_only_the_named_fields() {
        let got = pick(DOC.as_bytes(), &["capital", "missing", "name"]);
        assert_eq!(
            got,
            [Some(json!(5)), None, Some(json!("Boulangerie \"Martin\""))]
        );
        assert_eq!(pick(b"not json", &["a"]), [None]);
    }

    #[test]
    fn search_looks_into_nested_strings_and_skips_named_fields() {
        let skip = ["_id", "createdAt"];
        assert!(contains_text(DOC.as_bytes(), "martin", &skip));
        assert!(contains_text(DOC.as_bytes(), "j@example", &skip));
        assert!(!contains_text(DOC.as_bytes(), "a1", &skip));
        assert!(!contains_text(br#"{"createdAt":"zz"}"#, "zz", &skip));
        assert!(
            !contains_text(br#"{"email":"x"}"#, "email", &skip),
            "keys are not searched"
        );
    }

    #[test]
    fn case_insensitive_search_handles_accents() {
        assert!(contains_ci("Boulangerie MARTIN", "martin"));
        assert!(contains_ci("ÉCOLE", "école"));
        assert!(!contains_ci("abc", "abcd"));
    }
}

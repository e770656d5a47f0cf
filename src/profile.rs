//! The API profile: what `custbulk check` (and `check --write`) found out about one API, kept in
//! a small TOML file so that later commands know instead of guessing.
//!
//! The vendor documents no response at all. `check --save` records the list envelope, the id
//! field and paging; `check --write --save` adds what a round trip showed: what POST and PATCH
//! answer, whether PUT replaces, how a field can be cleared, whether values come back as sent.
//! A profile is made against one base URL and applies to that URL only; it never holds the key.
//!
//! It is found as `--profile FILE`, else `./custbulk.api.toml`, else
//! `$XDG_CONFIG_HOME/custbulk/api.toml` (`~/.config/custbulk/api.toml`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::api::ClientOptions;
use crate::error::usage;

/// The profile's name in the current directory, and where `--save` writes by default.
pub const FILE_NAME: &str = "custbulk.api.toml";

/// The version of the file's layout, so a later custbulk can tell an older profile.
pub const FORMAT: u32 = 1;

/// What one probe found about one API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub format: u32,
    /// When the probe ran (RFC 3339, UTC).
    pub made: String,
    /// The API it talked to, without credentials; the profile applies to this URL only.
    pub base_url: String,
    /// Which probe made it.
    pub probe: Probe,
    pub list: ListFacts,
    /// Only from `check --write --save`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes: Option<WriteFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// `check --save`: GET requests only.
    Read,
    /// `check --write --save`: a marked round trip as well.
    Write,
}

/// How lists come back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFacts {
    /// `array` (a bare JSON array) or `object` (items under `items_path`).
    pub envelope: Option<ListEnvelope>,
    /// Where an object envelope keeps its records (`docs`, `data`, ...).
    pub items_path: Option<String>,
    /// `_id` or `id`.
    pub id_field: Option<String>,
    /// The number of the first page, 1 or 0.
    pub first_page: Option<u8>,
    /// False when the server answers the same page whatever `page` asks.
    pub paging_works: Option<bool>,
    /// The largest page the server gives, when it caps `limit`.
    pub page_size_cap: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListEnvelope {
    Array,
    Object,
}

/// What the round trip of `check --write` showed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteFacts {
    /// How to read a create response.
    pub create_answer: Option<CreateAnswer>,
    pub create_status: Option<u16>,
    /// The id's field in the create response, when it has one.
    pub create_id_field: Option<String>,
    /// Fields a POST was refused without (beyond `name`).
    #[serde(default)]
    pub required_fields: Vec<String>,
    /// What a PATCH answers.
    pub patch_answer: Option<UpdateAnswer>,
    /// What a PUT does with the fields it leaves out.
    pub put: Option<PutEffect>,
    /// What `null` in a PATCH did to a field.
    pub null_on_patch: Option<ClearEffect>,
    /// What `""` in a PATCH did to a field.
    pub empty_on_patch: Option<ClearEffect>,
    /// How to clear a field: send `null`, send `""`, PUT the record without it, or no way seen.
    pub clear_with: Option<ClearWith>,
    /// Whether updates should PATCH or PUT.
    pub update_with: Option<UpdateWith>,
    /// Fields the server adds to what it was sent (`createdAt`, `__v`, ...).
    #[serde(default)]
    pub server_fields: Vec<String>,
    /// Whether `q` finds a customer by its name (some APIs search other fields only).
    #[serde(default)]
    pub search_finds_names: Option<bool>,
    /// Whether values come back as they were sent.
    pub values: Option<ValueFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreateAnswer {
    /// The whole record.
    Record,
    /// Only the id (`{"_id": ...}`).
    Id,
    /// The record inside an envelope (`{"data": {...}}`).
    Envelope,
    /// Nothing: the new id has to be looked up.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateAnswer {
    /// The record after the change.
    New,
    /// The record before the change: read it back to see the change.
    Old,
    /// Nothing: read it back to see the change.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PutEffect {
    /// Fields left out are gone.
    Replace,
    /// Fields left out stay.
    Merge,
}

/// What sending `null` or `""` for a field did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClearEffect {
    /// The field came back `null` or not at all.
    Clears,
    /// The field came back `""`.
    StoresEmpty,
    /// The field kept its value.
    Ignored,
    /// The request was refused.
    Refused,
}

impl ClearEffect {
    pub fn empties(self) -> bool {
        matches!(self, ClearEffect::Clears | ClearEffect::StoresEmpty)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClearWith {
    /// Send the field as `null` in a PATCH.
    Null,
    /// Send the field as `""` in a PATCH.
    Empty,
    /// PUT the whole record without the field.
    Put,
    /// The probe saw no way to clear a field.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateWith {
    Patch,
    Put,
}

/// Whether each kind of value came back exactly as sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueFacts {
    pub capital_as_number: bool,
    pub zip_code_keeps_zeros: bool,
    pub contacts_keep_keys: bool,
    pub is_company_as_boolean: bool,
    pub arabic_unchanged: bool,
}

/// A profile and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub profile: Profile,
}

impl Profile {
    /// A profile for `base_url` made now, with nothing learnt yet.
    pub fn new(base_url: &str, probe: Probe) -> Profile {
        Profile {
            format: FORMAT,
            made: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            base_url: without_credentials(base_url),
            probe,
            list: ListFacts::default(),
            writes: None,
        }
    }

    /// Reads a profile; a file that is not one is a usage error naming it.
    pub fn load(path: &Path) -> anyhow::Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(format!(
                "cannot read the API profile {}: {e}",
                path.display()
            ))
        })?;
        toml::from_str(&text).map_err(|e| {
            usage(format!(
                "{} is not a valid API profile: {}; run `custbulk check --save` again, or \
                 delete it",
                path.display(),
                e.to_string().trim_end()
            ))
        })
    }

    /// Writes the profile to a temporary file beside `path`, then renames it over `path`.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let body = toml::to_string(self).context("cannot write the API profile as TOML")?;
        let command = match self.probe {
            Probe::Read => "custbulk check --save",
            Probe::Write => "custbulk check --write --save",
        };
        let text = format!(
            "# The API profile: what `{command}` found at {} on {}.\n\
             # Every custbulk command talking to that URL reads it; flags still win. Run the\n\
             # check again (or delete this file) when the API changes.\n\n{body}",
            self.base_url, self.made
        );
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| FILE_NAME.to_owned());
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
            .with_context(|| format!("cannot save the API profile to {}", path.display()))
    }

    /// Whether the profile was made against `base_url`.
    pub fn made_for(&self, base_url: &str) -> bool {
        without_credentials(&self.base_url) == without_credentials(base_url)
    }

    /// "made 2026-12-01 against https://..."
    pub fn describe(&self) -> String {
        let day = self.made.get(..10).unwrap_or(&self.made);
        format!("made {day} against {}", self.base_url)
    }
}

impl Loaded {
    /// Puts what the profile knows into the client's options, where no flag said otherwise.
    pub fn apply(&self, options: &mut ClientOptions) {
        if let Some(first) = self.profile.list.first_page {
            options.first_page = first.into();
        }
        let known = &self.profile.list.items_path;
        match (&options.items_path, known) {
            (None, Some(path)) => options.items_path = Some(path.clone()),
            (Some(flag), Some(path)) if flag != path => crate::debug!(
                "--items-path {flag} is used instead of the profile's items path {path}."
            ),
            _ => {}
        }
    }
}

/// Where `check --save` writes: `--profile FILE`, else `./custbulk.api.toml`.
pub fn save_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(".").join(FILE_NAME))
}

/// The user's profile: `$XDG_CONFIG_HOME/custbulk/api.toml`, else `~/.config/custbulk/api.toml`.
pub fn user_path() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let config =
        absolute("XDG_CONFIG_HOME").or_else(|| absolute("HOME").map(|h| h.join(".config")))?;
    Some(config.join("custbulk").join("api.toml"))
}

/// The profile file to read: `--profile FILE` (which must exist), else the one in the current
/// directory, else the user's; `None` when there is none.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(usage(format!(
                "the API profile {} does not exist; make it with `custbulk check --write --save \
                 --profile {}`",
                path.display(),
                path.display()
            )));
        }
        return Ok(Some(path.to_path_buf()));
    }
    let here = save_path(None);
    if here.is_file() {
        return Ok(Some(here));
    }
    Ok(user_path().filter(|p| p.is_file()))
}

/// The profile that applies to `base_url`, if any, saying at `-v` which one is used; a profile
/// made against another URL is ignored with a warning.
pub fn for_base_url(explicit: Option<&Path>, base_url: &str) -> anyhow::Result<Option<Loaded>> {
    let Some(path) = find(explicit)? else {
        return Ok(None);
    };
    let profile = Profile::load(&path)?;
    if !profile.made_for(base_url) {
        crate::warn!(
            "the API profile {} was made against {}, not {}: it is ignored (run `custbulk check \
             --write --save` against this API to make one)",
            path.display(),
            profile.base_url,
            without_credentials(base_url)
        );
        return Ok(None);
    }
    crate::debug!(
        "Using the API profile {} ({}).",
        path.display(),
        profile.describe()
    );
    Ok(Some(Loaded { path, profile }))
}

/// A URL with any `user:password@` removed and no trailing slash, as profiles keep and compare it.
fn without_credentials(url: &str) -> String {
    let shown = match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    };
    shown.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Profile {
        let mut p = Profile::new("https://user:pw@api.example.test/api/v2/", Probe::Write);
        p.list = ListFacts {
            envelope: Some(ListEnvelope::Object),
            items_path: Some("docs".into()),
            id_field: Some("_id".into()),
            first_page: Some(1),
            paging_works: Some(true),
            page_size_cap: Some(1000),
        };
        p.writes = Some(WriteFacts {
            create_answer: Some(CreateAnswer::Id),
            create_status: Some(201),
            create_id_field: Some("_id".into()),
            required_fields: vec!["siret".into()],
            patch_answer: Some(UpdateAnswer::Old),
            put: Some(PutEffect::Merge),
            null_on_patch: Some(ClearEffect::Ignored),
            empty_on_patch: Some(ClearEffect::StoresEmpty),
            clear_with: Some(ClearWith::Empty),
            update_with: Some(UpdateWith::Patch),
            server_fields: vec!["createdAt".into(), "__v".into()],
            search_finds_names: Some(false),
            values: Some(ValueFacts {
                capital_as_number: true,
                ..ValueFacts::default()
            }),
        });
        p
    }

    #[test]
    fn a_saved_profile_loads_back_equal_and_keeps_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.toml");
        let profile = full();
        profile.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("pw"), "{text}");
        assert!(text.contains("null_on_patch = \"ignored\""), "{text}");
        assert!(text.starts_with("# The API profile"), "{text}");
        assert_eq!(Profile::load(&path).unwrap(), profile);
        assert!(profile.made_for("https://api.example.test/api/v2"));
        assert!(!profile.made_for("https://other.example.test/api/v2"));
        let read = Profile::new("http://127.0.0.1:1/api/v2", Probe::Read);
        read.save(&path).unwrap();
        assert_eq!(Profile::load(&path).unwrap(), read);
    }

    #[test]
    fn a_broken_profile_is_a_usage_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "format = \"one\"\n").unwrap();
        let err = Profile::load(&path).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("bad.toml"), "{err}");
        let missing = find(Some(&dir.path().join("none.toml"))).unwrap_err();
        assert_eq!(crate::error::exit_code(&missing), crate::error::USAGE);
    }

    #[test]
    fn a_flag_wins_over_the_profile() {
        let loaded = Loaded {
            path: PathBuf::from("p.toml"),
            profile: full(),
        };
        let mut options = ClientOptions::default();
        loaded.apply(&mut options);
        assert_eq!(options.items_path.as_deref(), Some("docs"));
        let mut options = ClientOptions {
            items_path: Some("data".into()),
            ..ClientOptions::default()
        };
        loaded.apply(&mut options);
        assert_eq!(options.items_path.as_deref(), Some("data"));
    }
}

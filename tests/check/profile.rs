//! The API profile as every command meets it: found in the current directory, in the user's
//! config directory or by `--profile`, said at `-v`, ignored for another base URL, and
//! overridden by flags.

use custbulk::profile::{Probe, Profile};
use custbulk::sandbox::{ListShape, Options};

use super::server;
use crate::util::Workdir;

#[test]
fn check_save_writes_a_read_profile_that_other_commands_read_and_name_at_v() {
    let server = server(Options::default());
    let dir = Workdir::new();
    let saved = dir.exec_against(&server, &["check", "--save"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(
        saved
            .stderr
            .contains("Saved the API profile to ./custbulk.api.toml."),
        "{}",
        saved.stderr
    );
    let profile = Profile::load(&dir.path("custbulk.api.toml")).unwrap();
    assert_eq!(profile.probe, Probe::Read);
    assert!(profile.writes.is_none());
    assert_eq!(profile.list.items_path.as_deref(), Some("docs"));
    assert_eq!(profile.list.first_page, Some(1));
    assert_eq!(profile.list.paging_works, Some(true));

    let export = dir.exec_against(&server, &["export", "out.csv", "-v"]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let said = format!(
        "Using the API profile ./custbulk.api.toml (made {} against {}).",
        &profile.made[..10],
        server.url()
    );
    assert!(export.stderr.contains(&said), "{said} in {}", export.stderr);
    let quiet = dir.exec_against(&server, &["export", "again.csv"]);
    assert!(
        !quiet.stderr.contains("API profile"),
        "only at -v: {}",
        quiet.stderr
    );
    let check = dir.exec_against(&server, &["check", "-v"]);
    assert!(
        !check.stderr.contains("Using the API profile"),
        "check finds out afresh: {}",
        check.stderr
    );
}

#[test]
fn a_profile_made_for_another_base_url_is_ignored_with_a_warning() {
    let server = server(Options::default());
    let dir = Workdir::new();
    let mut other = Profile::new("https://api.example.test/api/v2", Probe::Read);
    other.list.items_path = Some("nowhere".into());
    other.save(&dir.path("custbulk.api.toml")).unwrap();
    let run = dir.exec_against(&server, &["export", "out.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: the API profile ./custbulk.api.toml was made against https://api.example.test/api/v2")
            && run.stderr.contains("ignored"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_profile_items_path_is_used_and_the_flag_wins() {
    let server = server(Options {
        list_shape: ListShape::Data,
        ..Options::default()
    });
    let dir = Workdir::new();
    let mut profile = Profile::new(server.url(), Probe::Read);
    profile.list.items_path = Some("docs".into());
    profile.save(&dir.path("custbulk.api.toml")).unwrap();
    let used = dir.exec_against(&server, &["export", "out.json"]);
    assert_eq!(
        used.code, 3,
        "the profile's docs is not where data keeps its records"
    );
    let flag = dir.exec_against(&server, &["export", "out.json", "--items-path", "data"]);
    assert_eq!(flag.code, 0, "{}", flag.stderr);
    assert!(dir.read("out.json").contains("Gamma"));
}

#[test]
fn the_users_profile_is_found_an_explicit_one_must_exist_and_a_broken_one_is_named() {
    let server = server(Options::default());
    let dir = Workdir::new();
    std::fs::create_dir_all(dir.path("config/custbulk")).unwrap();
    let users = dir.path("config/custbulk/api.toml");
    Profile::new(server.url(), Probe::Read)
        .save(&users)
        .unwrap();
    let run = dir.exec_against(&server, &["export", "out.csv", "-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let said = format!("Using the API profile {}", users.display());
    assert!(run.stderr.contains(&said), "{said} in {}", run.stderr);

    let missing = dir.exec_against(&server, &["export", "out.csv", "--profile", "none.toml"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("none.toml does not exist"),
        "{}",
        missing.stderr
    );

    dir.write("custbulk.api.toml", "format = [");
    let broken = dir.exec_against(&server, &["export", "out.csv"]);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(
        broken
            .stderr
            .contains("custbulk.api.toml is not a valid API profile"),
        "{}",
        broken.stderr
    );
}

#[test]
fn check_write_save_goes_to_the_profile_flag_and_holds_no_key() {
    let server = server(Options::default());
    let dir = Workdir::new();
    let run = dir.exec_against(
        &server,
        &["check", "--write", "--save", "--profile", "team.toml"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = dir.read("team.toml");
    assert!(
        text.contains("probe = \"write\"") && text.contains("[writes]"),
        "{text}"
    );
    assert!(!text.contains(super::SECRET), "{text}");
    let export = dir.exec_against(
        &server,
        &["export", "out.csv", "-v", "--profile", "team.toml"],
    );
    assert!(
        export.stderr.contains("Using the API profile team.toml"),
        "{}",
        export.stderr
    );
}

#[test]
fn a_write_profile_says_at_v_what_it_changes_for_writes() {
    let server = server(Options {
        variants: custbulk::sandbox::Variants {
            patch_answer: custbulk::sandbox::UpdateAnswer::Old,
            patch_null: custbulk::sandbox::NullOnPatch::Ignored,
            ..Default::default()
        },
        ..Options::default()
    });
    let dir = Workdir::new();
    dir.exec_against(&server, &["check", "--write", "--save"])
        .assert_ok();
    dir.write("clients.csv", "name;city\nDelta;Nice\n");
    let run = dir.exec_against(&server, &["import", "clients.csv", "-v", "--no-progress"]);
    run.assert_ok();
    let said = "The profile says how this API writes: updates are confirmed by reading the \
                customer back; fields are cleared with \"\" (text) or a PUT.";
    assert!(run.stderr.contains(said), "{said} in {}", run.stderr);
}

//! The mapping file's `[fields]` and `[split]` tables as users meet them: the README's examples
//! run as written, an import read back from the sandbox, and the annotated copy marking the
//! cell a made value came from.

use custbulk::mapping::MapFile;
use custbulk::sandbox::Options;

use crate::annotate::{marks, shifted, RED};
use crate::util::{project_file, Server, Workdir};

const GERANTS: &str = "\
Raison sociale;Prénom du gérant;Nom du gérant;Adresse complète;SIRET
Boulangerie Martin;Jeanne;Martin;12 rue de la Liberté, 01000 Bourg-en-Bresse;41234567800012
Taxi Meziane;;Meziane;3 place Bellecour 69002 Lyon;73282932000074
Librairie du Parc;Hélène;Chérif;Lyon;34890123400016
";

const MAPPING: &str = r#"
[fields]
manager = "{Prénom du gérant} {Nom du gérant}"

[split."Adresse complète"]
pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
"#;

/// The README's mapping examples run as written: each block after `<!-- example NAME -->` is
/// written to NAME (a `.toml` must load as a mapping file), and each block after `<!-- run -->`
/// is a command whose output must be the rest of the block, so the documentation cannot drift
/// from what custbulk does.
#[test]
fn the_readme_mapping_examples_run_as_written() {
    let readme = std::fs::read_to_string(project_file("README.md")).unwrap();
    let wd = Workdir::new();
    let (mut files, mut runs) = (0, 0);
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(what) = line
            .strip_prefix("<!-- ")
            .and_then(|m| m.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "a block follows {line}");
        let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        if let Some(name) = what.strip_prefix("example ") {
            let path = wd.write(name, block.join("\n") + "\n");
            if name.ends_with(".toml") {
                MapFile::load(&path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            }
            files += 1;
        } else if what == "run" {
            let command = block[0].strip_prefix("$ custbulk ").expect("a command");
            let args: Vec<&str> = command.split_whitespace().collect();
            let run = wd.exec(&args);
            assert_eq!(run.stdout, block[1..].join("\n") + "\n", "{run}");
            runs += 1;
        }
    }
    assert!(files >= 3 && runs >= 2, "{files} examples, {runs} runs");
}

/// The French list imported with its transforms: each customer read back field by field, the
/// row whose address does not fit left invalid and uncreated, the columns kept in the results.
#[test]
fn a_list_imported_with_transforms_stores_the_made_fields() {
    let wd = Workdir::new();
    wd.write("gerants.csv", GERANTS);
    wd.write("gerants.toml", MAPPING);
    let server = Server::start(Options::default());
    let run = wd.exec_against(&server, &["import", "gerants.csv", "--map", "gerants.toml"]);
    run.assert_code(1);
    let mut store = server.records();
    store.sort_by_key(|r| r["name"].as_str().unwrap().to_string());
    assert_eq!(store.len(), 2, "{store:?}");
    let fields =
        |i: usize, names: [&str; 4]| names.map(|n| store[i][n].as_str().unwrap().to_string());
    assert_eq!(
        fields(0, ["manager", "street1", "zipCode", "city"]),
        [
            "Jeanne Martin",
            "12 rue de la Liberté",
            "01000",
            "Bourg-en-Bresse"
        ]
    );
    assert_eq!(
        fields(1, ["manager", "street1", "zipCode", "city"]),
        ["Meziane", "3 place Bellecour", "69002", "Lyon"]
    );
    let results = wd.results("gerants.results.csv");
    assert_eq!(results[2]["_outcome"], "invalid");
    assert!(results[2]["_error"].contains("\"Lyon\" does not fit the pattern"));
    assert_eq!(results[0]["Prénom du gérant"], "Jeanne");
    assert_eq!(
        results[1]["Adresse complète"],
        "3 place Bellecour 69002 Lyon"
    );
}

/// A problem of a made value, and a cell the pattern does not fit, are marked on the cell the
/// value came from in the annotated copy. French lists often hold the SIRET as its SIREN and
/// NIC apart; the SIRET made of them is shown on the first.
#[test]
fn the_annotated_copy_marks_the_cell_a_made_value_came_from() {
    let wd = Workdir::new();
    wd.write(
        "clients.csv",
        "Raison sociale;SIREN;NIC;Adresse complète\n\
         Boulangerie Martin;412345678;00012;12 rue de la Liberté, 01000 Bourg-en-Bresse\n\
         Taxi Meziane;732829320;00075;3 place Bellecour 69002 Lyon\n\
         Librairie du Parc;348901234;00016;Lyon\n",
    );
    wd.write(
        "clients.toml",
        r#"
[fields]
siret = "{SIREN}{NIC}"

[split."Adresse complète"]
pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
"#,
    );
    let run = wd.exec(&[
        "validate",
        "clients.csv",
        "--map",
        "clients.toml",
        "--annotate",
        "a.xlsx",
        "--format",
        "json",
    ]);
    run.assert_code(1);
    let problems = &run.json()["problems"];
    assert_eq!(problems[0]["column"], "B", "{problems}");
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .ends_with("(made by [fields] siret)"));
    let m = marks(&wd.path("a.xlsx"));
    let marked: Vec<&String> = m.fills.keys().filter(|k| !k.starts_with('A')).collect();
    let (siren, address) = (format!("{}3", shifted("B")), format!("{}4", shifted("D")));
    assert_eq!(marked, [&siren, &address], "{:?}", m.fills);
    assert_eq!(m.fills[&siren], RED);
    assert!(
        m.notes[&siren].contains("check digit is wrong"),
        "{}",
        m.notes[&siren]
    );
    assert!(m.notes[&address].contains("does not fit the pattern"));
}

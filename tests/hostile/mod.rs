//! A hostile world, and what custbulk does about it: two runs at once on one journal
//! (`locks`), a server whose list is short or repeats (`index`), a damaged journal (`journal`),
//! files a killed run left behind and help a user reads (`files`).

mod files;
mod index;
mod journal;
mod locks;

use crate::import::siret;

/// A CSV of customers `Client i` for each `i` of `numbers`, each with its own SIRET.
pub fn clients(numbers: std::ops::Range<u64>) -> String {
    let mut csv = String::from("name;siret;city\n");
    for i in numbers {
        csv.push_str(&format!("Client {i};{};Paris\n", siret(i)));
    }
    csv
}

/// The pid of a process that has ended (and, just reaped, is not yet reused).
pub fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("run true");
    let pid = child.id();
    child.wait().expect("reap");
    pid
}

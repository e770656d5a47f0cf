//! What became of a row: the words written in results files, journals and summaries.

use serde::{Deserialize, Serialize};

/// What a row ended as. The names are the ones written in the results file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Invalid,
    Failed,
    Skipped,
    /// `--plan`: the row would be created.
    WouldCreate,
    /// `--plan`: the row would update a customer.
    WouldUpdate,
    /// `--dry-run`: the row passed validation.
    Valid,
    /// The customer was deleted (delete mode, or undo of a create).
    Deleted,
    /// Delete mode: no customer has this key.
    NotFound,
    /// Undo: an updated customer is back to its values before the import.
    Restored,
    /// Undo: a customer the import deleted exists again (with a new id).
    Recreated,
    /// Undo: someone changed the customer since the import; left alone.
    Conflict,
    /// `--plan` of a delete or an undo.
    WouldDelete,
    WouldRestore,
    WouldRecreate,
    /// `--on-duplicate skip`: the row is likely the same as a customer already there.
    SkippedDuplicate,
    /// The request may or may not have taken effect, and the journal could not record which:
    /// `--resume` looks the customer up before anything is sent again.
    Unknown,
    /// Restore: a customer the backup does not have, kept (`--prune` deletes it).
    Extra,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::WouldCreate => "would-create",
            Outcome::WouldUpdate => "would-update",
            Outcome::Valid => "valid",
            Outcome::Deleted => "deleted",
            Outcome::NotFound => "not-found",
            Outcome::Restored => "restored",
            Outcome::Recreated => "recreated",
            Outcome::Conflict => "conflict",
            Outcome::WouldDelete => "would-delete",
            Outcome::WouldRestore => "would-restore",
            Outcome::WouldRecreate => "would-recreate",
            Outcome::SkippedDuplicate => "skipped-duplicate",
            Outcome::Unknown => "unknown",
            Outcome::Extra => "extra",
        }
    }

    /// What `--plan` says of a step that would end as `self`.
    pub fn planned(self) -> Outcome {
        match self {
            Outcome::Created => Outcome::WouldCreate,
            Outcome::Updated => Outcome::WouldUpdate,
            Outcome::Deleted => Outcome::WouldDelete,
            Outcome::Restored => Outcome::WouldRestore,
            Outcome::Recreated => Outcome::WouldRecreate,
            other => other,
        }
    }

    /// Rows that need the user's attention (they set exit code 1).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Outcome::Invalid | Outcome::Failed | Outcome::Conflict | Outcome::Unknown
        )
    }

    /// Rows to fix and import again: they go to the failed file. Not `unknown` ones: those may
    /// exist already, and only `--resume` can tell.
    pub fn to_fix(self) -> bool {
        self.is_problem() && self != Outcome::Unknown
    }
}

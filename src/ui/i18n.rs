//! The page's words in English and French, in one table, and the language a browser asks for
//! (`Accept-Language`). The engines' own messages (a problem's sentence, a reading error) stay
//! as the engines write them, in English, as the commands print them.

use serde::Serialize;

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The language an `Accept-Language` header prefers among ours: French when a `fr` tag
    /// weighs more than any `en` tag, else English.
    pub fn from_accept(header: Option<&str>) -> Lang {
        let (mut en, mut fr) = (0.0f32, 0.0f32);
        for (i, part) in header.unwrap_or("").split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                .unwrap_or(1.0f32);
            // Equal weights: the earlier tag wins.
            let q = q - i as f32 * 1e-4;
            let primary = tag.split('-').next().unwrap_or("");
            match primary {
                "fr" => fr = fr.max(q),
                "en" => en = en.max(q),
                _ => {}
            }
        }
        if fr > en {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

macro_rules! words {
    ($($key:ident: $en:expr, $fr:expr;)*) => {
        /// Every word of the page, one entry each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum W { $($key),* }

        impl Lang {
            /// The word in this language.
            pub fn t(self, w: W) -> &'static str {
                match w {
                    $(W::$key => match self { Lang::En => $en, Lang::Fr => $fr }),*
                }
            }
        }
    };
}

words! {
    StepFile: "File", "Fichier";
    StepColumns: "Columns", "Colonnes";
    StepProblems: "Problems", "Problèmes";
    StepPlan: "Plan", "Plan";
    StepRun: "Run", "Envoi";
    StepBackups: "Backups", "Sauvegardes";
    Tagline: "Your customer list, checked on this computer: nothing leaves it.",
        "Votre liste de clients, vérifiée sur cet ordinateur : rien n'en sort.";
    Drop: "Drop a customer list here, or choose one",
        "Déposez une liste de clients ici, ou choisissez-la";
    DropKinds: "CSV, Excel (xlsx, xls, xlsb), OpenDocument (ods), JSON or NDJSON, up to",
        "CSV, Excel (xlsx, xls, xlsb), OpenDocument (ods), JSON ou NDJSON, jusqu'à";
    Upload: "Open this file", "Ouvrir ce fichier";
    Uploaded: "Files opened in this session", "Fichiers ouverts dans cette session";
    Size: "Size", "Taille";
    Format: "Format", "Format";
    Sheet: "Sheet", "Feuille";
    HeaderRow: "Header row", "Ligne d'en-tête";
    Encoding: "Encoding", "Encodage";
    Delimiter: "Delimiter", "Séparateur";
    Detected: "detected", "détecté";
    Automatic: "automatic", "automatique";
    Notes: "Notes on reading", "Remarques sur la lecture";
    Headers: "Columns found", "Colonnes trouvées";
    TitleRowsSkipped: "title row(s) above it skipped", "ligne(s) de titre au-dessus ignorée(s)";
    ReadAgain: "Read it this way", "Lire ainsi";
    NextColumns: "Next: the columns", "Suite : les colonnes";
    Column: "Column", "Colonne";
    Header: "Header", "En-tête";
    Samples: "Sample values", "Exemples de valeurs";
    Field: "Field", "Champ";
    NotImported: "not imported", "non importé";
    Auto: "auto", "auto";
    FromMapping: "mapping file", "fichier de correspondance";
    ReadBy: "read by", "lu par";
    CheckColumns: "Check the rows with these columns", "Vérifier les lignes avec ces colonnes";
    Transforms: "Fields made from columns", "Champs formés de colonnes";
    TransformsHelp: "A field from columns ({Prénom} {Nom}), or one column cut into fields by a pattern with named groups.",
        "Un champ formé de colonnes ({Prénom} {Nom}), ou une colonne découpée en champs par un motif à groupes nommés.";
    AddTemplate: "Add a field from columns", "Ajouter un champ formé de colonnes";
    AddSplit: "Cut a column by a pattern", "Découper une colonne par un motif";
    Template: "Template", "Modèle";
    Pattern: "Pattern", "Motif";
    Remove: "Remove", "Retirer";
    MakesOfFirstRow: "makes of the first row", "donne pour la première ligne";
    MappingFile: "Mapping file", "Fichier de correspondance";
    MappingHelp: "The same TOML file custbulk reads with --map: save it to reuse these choices, from the page or the terminal.",
        "Le même fichier TOML que custbulk lit avec --map : enregistrez-le pour réutiliser ces choix, dans la page ou au terminal.";
    SaveMapping: "Save the mapping (TOML)", "Enregistrer la correspondance (TOML)";
    LoadMapping: "Load a mapping file", "Charger un fichier de correspondance";
    Load: "Load", "Charger";
    MissingColumns: "The mapping file names columns this sheet does not have",
        "Le fichier de correspondance nomme des colonnes absentes de cette feuille";
    Rows: "rows", "lignes";
    Valid: "valid", "valides";
    WithErrors: "with errors", "avec erreurs";
    Warnings: "warnings", "avertissements";
    BlankRows: "blank rows skipped", "lignes vides ignorées";
    ByField: "Problems by field", "Problèmes par champ";
    RowLevel: "(whole row)", "(ligne entière)";
    Errors: "errors", "erreurs";
    NoProblems: "No problems: every row can be imported.", "Aucun problème : chaque ligne peut être importée.";
    Grid: "Rows with problems", "Lignes à problèmes";
    GridHelp: "Edit a cell and leave it (Tab or Enter): its row is checked again at once.",
        "Modifiez une cellule puis quittez-la (Tab ou Entrée) : sa ligne est vérifiée aussitôt.";
    Row: "Row", "Ligne";
    Fixed: "fixed", "corrigée";
    Edited: "edited", "modifiée";
    AcrossNote: "Checks across rows (a key seen on an earlier row, a likely duplicate) are not run again for one edit: check the whole file again for them.",
        "Les contrôles entre lignes (une clé déjà vue plus haut, un doublon probable) ne sont pas refaits pour une modification : revérifiez tout le fichier pour eux.";
    AcrossMark: "found across rows; check the whole file again to update",
        "trouvé entre lignes ; revérifiez tout le fichier pour le mettre à jour";
    CheckAgain: "Check the whole file again", "Revérifier tout le fichier";
    Page: "Page", "Page";
    Previous: "Previous", "Précédente";
    Next: "Next", "Suivante";
    Of: "of", "sur";
    DownloadFixed: "The fixed file", "Le fichier corrigé";
    DownloadAnnotated: "The annotated workbook", "Le classeur annoté";
    DownloadsHelp: "Your edits written into a copy of the file; the annotated workbook shows every problem on its cell.",
        "Vos modifications écrites dans une copie du fichier ; le classeur annoté montre chaque problème sur sa cellule.";
    CheckedIn: "checked in", "vérifiées en";
    EditsCount: "cells edited", "cellules modifiées";
    NextPlan: "Next: the plan", "Suite : le plan";
    BackupsFolder: "Backups go to, and are listed from, the page's folder:", "Les sauvegardes vont dans le dossier de la page, et y sont listées :";
    Search: "Search", "Recherche";
    Export: "Export the account", "Exporter le compte";
    Backup: "Backup", "Sauvegarde";
    Records: "Records", "Fiches";
    CompareLive: "Compare with the account", "Comparer avec le compte";
    Compare: "Compare", "Comparer";
    Live: "the account (live)", "le compte (en direct)";
    RestorePlan: "Restore's plan", "Plan de restauration";
    Restore: "Restore this backup", "Restaurer cette sauvegarde";
    Mode: "Mode", "Mode";
    MatchOn: "Match on", "Correspondance par";
    OnDuplicate: "Likely duplicates", "Doublons probables";
    MakePlan: "Make the plan", "Établir le plan";
    PlanHelp: "The plan asks the server (reading only) what each row would do; nothing is sent until you start the run.",
        "Le plan demande au serveur (en lecture seule) ce que ferait chaque ligne ; rien n'est envoyé avant que vous lanciez l'envoi.";
    PlanStale: "The file or the choices changed since this plan: make it again before sending.",
        "Le fichier ou les choix ont changé depuis ce plan : refaites-le avant d'envoyer.";
    WhatWouldHappen: "What the run would do", "Ce que ferait l'envoi";
    PossibleDuplicates: "would be created although likely duplicates (see below)", "seraient créés bien que doublons probables (voir plus bas)";
    Updates: "Updates, field by field", "Mises à jour, champ par champ";
    Before: "Before", "Avant";
    After: "After", "Après";
    LikelyDuplicates: "Likely duplicates", "Doublons probables";
    NotSent: "Rows that will not be sent", "Lignes qui ne seront pas envoyées";
    ConfirmDelete: "Yes, delete them; customers at most:", "Oui, les supprimer ; clients au plus :";
    Send: "Start the run", "Lancer l'envoi";
    NoRun: "No run yet: make the plan, then start it from there.", "Pas encore d'envoi : établissez le plan, puis lancez-le depuis celui-ci.";
    Stop: "Stop", "Arrêter";
    StopHelp: "Requests in flight finish, the rest is skipped; Resume finishes it later.",
        "Les requêtes en cours se terminent, le reste est sauté ; Reprendre le termine plus tard.";
    StopBackupHelp: "Requests in flight finish; a stopped export keeps no file, a stopped restore what it did (Resume finishes it).",
        "Les requêtes en cours se terminent ; un export arrêté ne garde aucun fichier, une restauration arrêtée ce qu'elle a fait (Reprendre la termine).";
    FromTerminal: "The same from a terminal", "La même chose depuis un terminal";
    RunDone: "The run is over.", "L'envoi est terminé.";
    Results: "The results file", "Le fichier de résultats";
    FailedRows: "The rows to fix and send again", "Les lignes à corriger et renvoyer";
    Resume: "Resume", "Reprendre";
    Undo: "Undo this import", "Annuler cet import";
    UndoRestore: "Undo this restore", "Annuler cette restauration";
    ConfirmUndo: "Yes, delete the customers it created:", "Oui, supprimer les clients qu'il a créés :";
    PerSecond: "rows/s", "lignes/s";
    Concurrency: "concurrency", "concurrence";
    NoFile: "Open a file first.", "Ouvrez d'abord un fichier.";
    Problem: "Something went wrong", "Un problème est survenu";
    Back: "Back", "Retour";
    Footer: "A page served by custbulk on this computer only; it stops with custbulk ui (Ctrl-C), and the files opened here are removed then.",
        "Page servie par custbulk sur cet ordinateur seulement ; elle s'arrête avec custbulk ui (Ctrl-C), et les fichiers ouverts ici sont alors supprimés.";
    Working: "Working…", "En cours…";
    KindText: "text", "texte";
    KindInteger: "whole number", "nombre entier";
    KindBoolean: "yes/no", "oui/non";
    KindContacts: "contacts", "contacts";
    IdColumn: "id of the customer to update", "id du client à modifier";
    ResultsColumn: "results column (ignored)", "colonne de résultats (ignorée)";
    ActionColumn: "action per row", "action par ligne";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_the_one_the_browser_weighs_most() {
        assert_eq!(Lang::from_accept(None), Lang::En);
        assert_eq!(Lang::from_accept(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::from_accept(Some("en-US,en;q=0.9,fr;q=0.8")), Lang::En);
        assert_eq!(Lang::from_accept(Some("de-DE,fr;q=0.5")), Lang::Fr);
        assert_eq!(Lang::from_accept(Some("de-DE")), Lang::En);
        assert_eq!(Lang::from_accept(Some("en;q=0.5, fr;q=0.7")), Lang::Fr);
    }
}

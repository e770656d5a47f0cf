//! `custbulk template`: a blank XLSX import sheet whose headers map by themselves.
//!
//! Every schema field gets a column with a note (type, rule, example). Contacts are written as
//! column groups (`Contact 1 Name`, `Contact 1 Email`, ...) rather than a JSON column, because
//! people fill spreadsheets, not JSON.

use std::path::PathBuf;

use anyhow::Context as _;
use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Note, Workbook, Worksheet};

use crate::cmd::Global;
use crate::error::Exit;
use crate::info;
use crate::schema::{is_right_to_left, Field, Kind, CONTACT_KEYS, FIELDS};

/// Rows the isCompany list and the text formats cover.
const DATA_ROWS: u32 = 10_000;

const EXAMPLES: &str = "\
Examples:
  custbulk template --lang fr --out clients.xlsx";

/// Write a blank customer import sheet (XLSX): one column per field with a note saying its
/// type, rule and an example, a yes/no list on the company column, zip code and SIRET columns
/// formatted as text (leading zeros survive), a bold frozen header, and contact columns.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Where to write the template.
    #[arg(
        long,
        value_name = "FILE.xlsx",
        default_value = "customers-template.xlsx"
    )]
    pub out: PathBuf,

    /// Language of the headers, notes' values and yes/no list.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,

    /// How many contacts get a column group (name, email, phone, role).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub contacts: u16,

    /// Fill row 2 with an example customer (delete it before importing).
    #[arg(long)]
    pub example: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Fr => 1,
        }
    }

    /// The yes/no words of the isCompany list.
    fn yes_no(self) -> [&'static str; 2] {
        match self {
            Lang::En => ["true", "false"],
            Lang::Fr => ["oui", "non"],
        }
    }
}

pub fn run(_global: &Global, args: Args) -> anyhow::Result<Exit> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    build(sheet, &args).context("cannot build the template")?;
    book.save(&args.out)
        .with_context(|| format!("cannot write the template {}", args.out.display()))?;
    info!("Wrote {}.", args.out.display());
    Ok(Exit::Ok)
}

/// One column of the template.
struct Col {
    header: String,
    note: String,
    example: String,
    width: f64,
    text: bool,
    yes_no: bool,
    number: bool,
    /// An Arabic field: its cells read right to left.
    right_to_left: bool,
}

fn columns(args: &Args) -> Vec<Col> {
    let l = args.lang.index();
    let mut cols = Vec::new();
    for f in FIELDS.iter().filter(|f| f.kind != Kind::Contacts) {
        let example = match f.kind {
            Kind::Boolean => args.lang.yes_no()[0].to_string(),
            Kind::Integer => f.example.chars().filter(char::is_ascii_digit).collect(),
            _ => f.example.to_string(),
        };
        cols.push(Col {
            header: f.headers[l].to_string(),
            note: note(f, &example, args.lang),
            width: width(f.headers[l], &example),
            text: matches!(f.name, "zipCode" | "siret"),
            yes_no: f.kind == Kind::Boolean,
            number: f.kind == Kind::Integer,
            right_to_left: is_right_to_left(f.name),
            example,
        });
    }
    for n in 1..=args.contacts {
        for k in CONTACT_KEYS {
            let header = match args.lang {
                Lang::En => format!("Contact {n} {}", k.headers[0]),
                Lang::Fr => format!("Contact {n} {}", k.headers[1]),
            };
            let note = match args.lang {
                Lang::En => format!("Contact {n}: {} (text).\nExample: {}", k.key, k.example),
                Lang::Fr => format!(
                    "Contact {n} : {} (texte).\nExemple : {}",
                    k.headers[1].to_lowercase(),
                    k.example
                ),
            };
            cols.push(Col {
                width: width(&header, k.example),
                header,
                note,
                example: if n == 1 {
                    k.example.to_string()
                } else {
                    String::new()
                },
                text: k.key == "phone",
                yes_no: false,
                number: false,
                right_to_left: false,
            });
        }
    }
    cols
}

fn note(f: &Field, example: &str, lang: Lang) -> String {
    let kind = match (f.kind, lang) {
        (Kind::Boolean, Lang::En) => "yes/no",
        (Kind::Boolean, Lang::Fr) => "oui/non",
        (Kind::Integer, Lang::En) => "whole number",
        (Kind::Integer, Lang::Fr) => "nombre entier",
        (_, Lang::En) => "text",
        (_, Lang::Fr) => "texte",
    };
    match lang {
        Lang::En => format!("{} ({kind}).\n{}\nExample: {example}", f.name, f.help),
        Lang::Fr => format!("{} ({kind}).\n{}\nExemple : {example}", f.name, f.help),
    }
}

fn width(header: &str, example: &str) -> f64 {
    let n = header.chars().count().max(example.chars().count().min(40));
    (n as f64 + 3.0).max(10.0)
}

fn build(sheet: &mut Worksheet, args: &Args) -> Result<(), rust_xlsxwriter::XlsxError> {
    sheet.set_name(match args.lang {
        Lang::En => "Customers",
        Lang::Fr => "Clients",
    })?;
    let bold = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_align(FormatAlign::Center);
    let text = Format::new().set_num_format_index(49); // built-in "@": Text
    let right_to_left = Format::new().set_reading_direction(2);
    for (i, c) in columns(args).iter().enumerate() {
        let col = i as u16;
        sheet.write_string_with_format(0, col, &c.header, &bold)?;
        sheet.insert_note(
            0,
            col,
            &Note::new(&c.note)
                .add_author_prefix(false)
                .set_width(320)
                .set_height(110),
        )?;
        sheet.set_column_width(col, c.width)?;
        if c.text {
            sheet.set_column_format(col, &text)?;
        }
        if c.right_to_left {
            sheet.set_column_format(col, &right_to_left)?;
        }
        if c.yes_no {
            let list = DataValidation::new()
                .allow_list_strings(&args.lang.yes_no())?
                .ignore_blank(true);
            sheet.add_data_validation(1, col, DATA_ROWS, col, &list)?;
        }
        if args.example && !c.example.is_empty() {
            match c.example.parse::<f64>() {
                Ok(n) if c.number => sheet.write_number(1, col, n)?,
                _ if c.text => sheet.write_string_with_format(1, col, &c.example, &text)?,
                _ => sheet.write_string(1, col, &c.example)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

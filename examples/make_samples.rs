//! Regenerates `samples/customers.xlsx` and `samples/customers.csv`:
//! `cargo run --example make_samples`.
//!
//! The XLSX is a realistic customer list as Excel users keep them: a title row, French headers,
//! Arabic names, two contacts as column groups, zip codes with leading zeros (as text, and one
//! as a number formatted `00000`), SIRETs as text and one typed as a number, a blank row, and
//! these deliberate mistakes, so that `custbulk validate` has something to show:
//! - row 9: a SIRET with a wrong check digit (error)
//! - row 14: a contact e-mail without a domain (error)
//! - row 18: a capital with a fraction, `15 000,50` (error)
//! - row 27: no name (error)
//! - row 33: the SIRET of row 8 again (error)
//! - row 29: an Arabic name written in Latin letters (warning)
//! - row 37: an RCS whose SIREN is not the SIRET's (warning)
//!
//! Row 7 has its SIRET typed as a number and its zip code as the number 2100 formatted
//! `00000`; row 24 is blank. 40 data rows: 35 valid, 5 with errors.
//!
//! The CSV is a cleaner semicolon list with headers that `samples/mapping.toml` completes.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};

/// One customer per line: name | Arabic name | manager | street | zip | city | category |
/// contact | e-mail. The empty name is a deliberate mistake.
const CUSTOMERS: &str = "
Boulangerie Martin | مخبزة مارتان | Jeanne Martin | 12 rue de la République | 01000 | Bourg-en-Bresse | boulangerie | Jeanne Martin | jeanne@boulangerie-martin.fr
Garage Benali | مرآب بن علي | Karim Benali | 4 avenue Jean Jaurès | 69007 | Lyon | garage | Karim Benali | k.benali@garage-benali.fr
Épicerie El Amrani | بقالة العمراني | Fatima El Amrani | 27 rue des Postes | 59000 | Lille | épicerie | Fatima El Amrani | contact@elamrani.fr
Pharmacie du Centre | صيدلية الوسط | Marc Durand | 1 place du Marché | 02100 | Saint-Quentin | pharmacie | Marc Durand | m.durand@pharmacie-centre.fr
Transports Haddad | نقليات حداد | Youssef Haddad | ZI des Chênes | 13015 | Marseille | transport | Samira Haddad | samira@transports-haddad.fr
Librairie Ibn Khaldoun | مكتبة ابن خلدون | Nadia Cherif | 8 rue Monge | 75005 | Paris | librairie | Nadia Cherif | nadia@ibnkhaldoun.fr
Cabinet Moreau Conseil | مكتب مورو للاستشارات | Paul Moreau | 33 cours Mirabeau | 13100 | Aix-en-Provence | conseil | Paul Moreau | paul.moreau@moreau-conseil.fr
Restaurant La Médina | مطعم المدينة | Rachid Ouali | 5 rue du Vieux-Port | 06000 | Nice | restaurant | Rachid Ouali | reservation@lamedina.fr
Menuiserie Lefèvre | نجارة لوفيفر | Hélène Lefèvre | 18 chemin des Vignes | 03000 | Moulins | artisan | Hélène Lefèvre | contact@menuiserie-lefevre.fr
Atlas Import Export | أطلس للاستيراد والتصدير | Omar Tazi | 9 quai de Bercy | 94220 | Charenton-le-Pont | négoce | Omar Tazi | o.tazi@atlas-ie.fr
Coiffure Samia | حلاقة سامية | Samia Bouzid | 22 rue Nationale | 37000 | Tours | coiffure | Samia Bouzid | samia@coiffure-samia
Boucherie Halal Nour | ملحمة نور | Hassan Mansouri | 3 rue de Belleville | 75019 | Paris | boucherie | Hassan Mansouri | nour.boucherie@example.fr
Auto-École Horizon | مدرسة تعليم السياقة الأفق | Claire Petit | 41 boulevard Gambetta | 30000 | Nîmes | formation | Claire Petit | contact@horizon-conduite.fr
Plomberie Garnier | سباكة غارنييه | Luc Garnier | 6 impasse des Lilas | 05000 | Gap | artisan | Luc Garnier | luc@plomberie-garnier.fr
Hammam Al Andalus | حمام الأندلس | Leïla Saidi | 14 rue d'Alger | 31000 | Toulouse | bien-être | Leïla Saidi | accueil@alandalus.fr
Informatique Rahmani | معلوماتية رحماني | Mehdi Rahmani | 2 allée Turing | 35000 | Rennes | informatique | Mehdi Rahmani | mehdi@rahmani-info.fr
Fleurs de Carthage | زهور قرطاج | Amel Jaziri | 7 rue Paradis | 13001 | Marseille | fleuriste | Amel Jaziri | amel@fleursdecarthage.fr
Bâtiment Rousseau & Fils | روسو وأبناؤه للبناء | Henri Rousseau | ZA du Moulin | 08000 | Charleville-Mézières | bâtiment | Henri Rousseau | h.rousseau@rousseau-fils.fr
Traiteur Zitouna | ممون الزيتونة | Mounir Trabelsi | 11 rue de Strasbourg | 67000 | Strasbourg | traiteur | Mounir Trabelsi | commandes@zitouna.fr
Optique Lumière | بصريات الضوء | Sophie Bernard | 25 rue Sainte-Catherine | 33000 | Bordeaux | optique | Sophie Bernard | sophie@optique-lumiere.fr
Garage du Rhône | مرآب الرون | Ali Kaci | 90 route de Vienne | 69008 | Lyon | garage | Ali Kaci | ali.kaci@garagedurhone.fr
Dar Zellige Décoration | دار الزليج للديكور | Youssra Alaoui | 16 rue de la Paix | 44000 | Nantes | décoration | Youssra Alaoui | youssra@darzellige.fr
 | مقهى السلام | Nabil Ferhat | 3 place de la Gare | 09000 | Foix | café | Nabil Ferhat | nabil@cafe-salam.fr
Cordonnerie Dubois | إسكافي دوبوا | Gérard Dubois | 10 rue Gambetta | 87000 | Limoges | artisan | Gérard Dubois | g.dubois@cordonnerie.fr
Taxi Meziane | Taxi Meziane | Sofiane Meziane | 5 avenue de la Gare | 25000 | Besançon | transport | Sofiane Meziane | taxi.meziane@example.fr
Pâtisserie Oriental Délices | حلويات المشرق | Houda Benyahia | 19 rue d'Isly | 51100 | Reims | pâtisserie | Houda Benyahia | houda@orientaldelices.fr
Électricité Mercier | كهرباء مرسييه | Julien Mercier | 4 rue Volta | 63000 | Clermont-Ferrand | artisan | Julien Mercier | j.mercier@elec-mercier.fr
Agence Sahara Voyages | وكالة الصحراء للأسفار | Khadija Belkacem | 30 rue de Rivoli | 75004 | Paris | tourisme | Khadija Belkacem | khadija@saharavoyages.fr
Transports Haddad Sud | نقليات حداد الجنوب | Youssef Haddad | Route d'Arles | 13200 | Arles | transport | Youssef Haddad | sud@transports-haddad.fr
Clinique Vétérinaire des Alpes | عيادة بيطرية الألب | Anne Roux | 8 avenue Alsace-Lorraine | 38000 | Grenoble | vétérinaire | Anne Roux | accueil@veto-alpes.fr
Savonnerie d'Alep | صابون حلب | Georges Haddad | 2 rue Thiers | 84000 | Avignon | cosmétique | Georges Haddad | contact@savonnerie-alep.fr
Cave des Coteaux | قبو التلال | Bernard Lambert | 1 route des Vins | 21200 | Beaune | caviste | Bernard Lambert | cave@coteaux.fr
Marbrerie Ben Youssef | رخاميات بن يوسف | Tarek Ben Youssef | ZI Nord | 57000 | Metz | bâtiment | Tarek Ben Youssef | tarek@marbrerie-by.fr
Institut Jasmin | معهد الياسمين | Nawel Hamdi | 12 cours Jean Jaurès | 38000 | Grenoble | bien-être | Nawel Hamdi | nawel@institut-jasmin.fr
Quincaillerie Blanc | خردوات بلان | Pierre Blanc | 6 Grande Rue | 04000 | Digne-les-Bains | commerce | Pierre Blanc | pierre@quincaillerie-blanc.fr
Studio Photo Qamar | استوديو قمر | Ines Qamar | 20 rue Sainte | 13007 | Marseille | photographie | Ines Qamar | ines@studioqamar.fr
Laverie Express | مصبنة إكسبريس | Thomas Girard | 3 rue Carnot | 06400 | Cannes | services | Thomas Girard | laverie.express@example.fr
Ferme des Oliviers | مزرعة الزيتون | Mohamed Bouaziz | Chemin de la Plaine | 30300 | Beaucaire | agriculture | Mohamed Bouaziz | ferme@oliviers.fr
Assurances Kettani | تأمينات الكتاني | Driss Kettani | 45 rue de la Bourse | 69002 | Lyon | assurance | Driss Kettani | driss@kettani-assurances.fr
Association Entraide Paris 18 | جمعية التعاون باريس 18 | Aïcha Diallo | 7 rue Myrha | 75018 | Paris | association | Aïcha Diallo | contact@entraide18.fr
";

/// The fields of one line of [`CUSTOMERS`].
type Customer<'a> = [&'a str; 9];

fn customers() -> Vec<Customer<'static>> {
    CUSTOMERS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split('|').map(str::trim).collect();
            v.try_into().expect("9 fields per customer")
        })
        .collect()
}

/// The check digit that completes 13 digits into a Luhn-valid SIRET.
fn luhn_complete(first13: &str) -> String {
    format!(
        "{first13}{}",
        custbulk::validate::coerce::luhn_check_digit(first13)
    )
}

fn siren(i: usize) -> String {
    format!("{}", 412_345_678 + i * 10_007_339)
}

fn siret(i: usize) -> String {
    luhn_complete(&format!("{}0001", siren(i)))
}

fn rcs(i: usize, city: &str) -> String {
    let s = siren(i);
    format!("RCS {city} B {} {} {}", &s[..3], &s[3..6], &s[6..])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(&dir)?;
    write_xlsx(&dir.join("customers.xlsx"))?;
    write_csv(&dir.join("customers.csv"))?;
    println!("Wrote samples/customers.xlsx and samples/customers.csv.");
    Ok(())
}

fn write_xlsx(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let headers = [
        "Raison sociale",
        "Société",
        "Capital social",
        "Gérant",
        "Nom (arabe)",
        "Adresse (arabe)",
        "Adresse",
        "Complément d'adresse",
        "Code postal",
        "Ville",
        "N° SIRET",
        "RCS",
        "Statut",
        "Catégorie",
        "Contact 1 Nom",
        "Contact 1 Email",
        "Contact 1 Téléphone",
        "Contact 2 Nom",
        "Contact 2 Email",
        "Remarques",
    ];
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Clients")?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let text = Format::new().set_num_format_index(49); // built-in "@": Text
    let zip5 = Format::new().set_num_format("00000");
    let money = Format::new().set_num_format("# ##0");
    let siret_num = Format::new().set_num_format("0");
    sheet.write_string_with_format(0, 0, "Fichier clients — export du 12/03/2024", &title)?;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold)?;
        sheet.set_column_width(c as u16, 18)?;
    }
    // Header on row 3; data from row 4. `r` is the 0-based sheet row, so spreadsheet row r+1.
    let mut r: u32 = 3;
    for (i, c) in customers().into_iter().enumerate() {
        let [name, name_ar, manager, street, zip, city, category, contact, email] = c;
        if i == 20 {
            r += 1; // a blank row in the middle, as lists often have
        }
        sheet.write_string(r, 0, name)?;
        if i % 9 == 4 {
            sheet.write_boolean(r, 1, true)?;
        } else {
            sheet.write_string(
                r,
                1,
                if category == "association" {
                    "non"
                } else {
                    "oui"
                },
            )?;
        }
        match i {
            14 => sheet.write_string(r, 2, "15 000,50")?,
            _ if i % 4 == 0 => sheet.write_string(r, 2, format!("{} 000", 1 + (i * 37) % 500))?,
            _ => sheet.write_number_with_format(
                r,
                2,
                (1000 * (1 + (i * 53) % 900)) as f64,
                &money,
            )?,
        };
        sheet.write_string(r, 3, manager)?;
        sheet.write_string(r, 4, name_ar)?;
        sheet.write_string(
            r,
            5,
            format!(
                "{} شارع {}",
                1 + i % 40,
                ["الحرية", "الاستقلال", "النصر"][i % 3]
            ),
        )?;
        sheet.write_string(r, 6, street)?;
        if i % 6 == 2 {
            sheet.write_string(r, 7, "Bâtiment B")?;
        }
        if zip == "02100" {
            // A zip typed as a number and formatted 00000: must still read as 02100.
            sheet.write_number_with_format(r, 8, 2100.0, &zip5)?;
        } else {
            sheet.write_string_with_format(r, 8, zip, &text)?;
        }
        sheet.write_string(r, 9, city)?;
        let siret = match i {
            5 => {
                let good = siret(i);
                let last = good.as_bytes()[13] - b'0';
                format!("{}{}", &good[..13], (last + 1) % 10)
            }
            28 => siret(4), // row 8's SIRET again
            _ => siret(i),
        };
        if i == 3 {
            sheet.write_number_with_format(r, 10, siret.parse::<f64>()?, &siret_num)?;
        } else {
            let spaced = if i % 5 == 3 {
                format!(
                    "{} {} {} {}",
                    &siret[..3],
                    &siret[3..6],
                    &siret[6..9],
                    &siret[9..]
                )
            } else {
                siret.clone()
            };
            sheet.write_string_with_format(r, 10, &spaced, &text)?;
        }
        let rcs_text = match i {
            32 => rcs(i + 1, city),
            28 => rcs(4, city),
            _ => rcs(i, city),
        };
        sheet.write_string(r, 11, &rcs_text)?;
        sheet.write_string(
            r,
            12,
            ["actif", "actif", "actif", "prospect", "inactif"][i % 5],
        )?;
        sheet.write_string(r, 13, category)?;
        sheet.write_string(r, 14, contact)?;
        sheet.write_string(r, 15, email)?;
        sheet.write_string_with_format(
            r,
            16,
            format!(
                "+33 {} {:02} {:02} {:02} {:02}",
                1 + i % 6,
                10 + i,
                20 + i,
                30 + i,
                40 + i
            ),
            &text,
        )?;
        if i % 3 == 0 {
            sheet.write_string(r, 17, "Service comptabilité")?;
            sheet.write_string(r, 18, format!("compta{}@example.fr", i + 1))?;
        }
        if i % 7 == 1 {
            sheet.write_string(r, 19, "Client fidèle")?;
        }
        r += 1;
    }
    sheet.set_freeze_panes(3, 0)?;
    book.save(path)?;
    Ok(())
}

fn write_csv(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_path(path)?;
    w.write_record([
        "Dénomination",
        "Forme juridique",
        "Capital (€)",
        "Dirigeant",
        "Adresse",
        "CP",
        "Ville",
        "SIRET",
        "État",
        "Secteur",
        "Email",
        "Téléphone",
        "Notes internes",
    ])?;
    // The CSV is the clean list: none of the XLSX's deliberate mistakes.
    let clean = |(i, c): &(usize, Customer)| {
        !c[0].is_empty() && c[8].split('@').nth(1).is_some_and(|d| d.contains('.')) && *i != 28
    };
    for (i, c) in customers()
        .into_iter()
        .enumerate()
        .filter(clean)
        .skip(2)
        .take(20)
    {
        let [name, _, manager, street, zip, city, category, _, email] = c;
        let capital = format!("{} 000", 5 + (i * 13) % 300);
        let siret = siret(i);
        w.write_record([
            name,
            if category == "association" {
                "Association"
            } else {
                "SARL"
            },
            &capital,
            manager,
            street,
            zip,
            city,
            &siret,
            if i % 4 == 0 { "En sommeil" } else { "Actif" },
            category,
            email,
            &format!("04 {:02} {:02} {:02} {:02}", 10 + i, 20 + i, 30 + i, 40 + i),
            if i % 5 == 0 { "Relancer en juin" } else { "" },
        ])?;
    }
    w.flush()?;
    Ok(())
}

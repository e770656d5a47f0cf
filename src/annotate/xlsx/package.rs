//! The parts of the package around the two sheets: styles, workbook, relationships, content
//! types, and the ends of the sheets (autofilter, note drawing, the second sheet).

use std::io::{self, Write};

use super::text::{push_col, push_escaped, SheetXml};
use super::{width_px, Book};

pub(super) const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
"#;
pub(super) const NS_MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
pub(super) const NS_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<fonts count="4">"#,
    r#"<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><sz val="11"/><color rgb="FF9C0006"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><sz val="11"/><color rgb="FF9C5700"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"</fonts><fills count="4">"#,
    r#"<fill><patternFill patternType="none"/></fill>"#,
    r#"<fill><patternFill patternType="gray125"/></fill>"#,
    r#"<fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/><bgColor indexed="64"/></patternFill></fill>"#,
    r#"<fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/><bgColor indexed="64"/></patternFill></fill>"#,
    r#"</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="7">"#,
    r#"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>"#,
    r#"<xf numFmtId="0" fontId="3" fillId="3" borderId="0" xfId="0" applyFont="1" applyFill="1"/>"#,
    r#"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment readingOrder="2"/></xf>"#,
    r#"<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment readingOrder="2"/></xf>"#,
    r#"<xf numFmtId="0" fontId="3" fillId="3" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment readingOrder="2"/></xf>"#,
    r#"</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    r#"<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>"#,
    r#"</styleSheet>"#
);

impl Book {
    pub(super) fn parts(
        &mut self,
        rows: &mut SheetXml,
        sheet_name: &str,
        (first, last, last_col): (u32, u32, u16),
        (second_name, second_rows, second_widths): (&str, &mut SheetXml, &[f64]),
    ) -> io::Result<()> {
        rows.end_row();
        self.flush_rows(rows, true)?;
        let mut range = Vec::new();
        range.extend_from_slice(b"A");
        let _ = write!(range, "{}:", first + 1);
        push_col(&mut range, last_col);
        let _ = write!(range, "{}", last + 1);
        let range = String::from_utf8(range).expect("ASCII");
        let has_notes = self.notes.is_some();
        let mut tail = format!(
            r#"</sheetData><autoFilter ref="{range}"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#
        );
        if has_notes {
            tail.push_str(r#"<legacyDrawing r:id="rId1"/>"#);
        }
        tail.push_str("</worksheet>");
        self.zip()?.write_all(tail.as_bytes())?;

        if let Some(notes) = self.notes.take() {
            self.copy_notes(notes)?;
            self.part(
                "xl/worksheets/_rels/sheet1.xml.rels",
                &relationships(&[
                    ("vmlDrawing", "../drawings/vmlDrawing1.vml"),
                    ("comments", "../comments1.xml"),
                ]),
            )?;
        }

        second_rows.end_row();
        let mut s = String::new();
        s.push_str(XML_HEAD);
        s.push_str(&format!(
            r#"<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#
        ));
        cols_xml(&mut s, second_widths);
        s.push_str("<sheetData>");
        s.push_str(std::str::from_utf8(&second_rows.buf).map_err(io::Error::other)?);
        s.push_str(r#"</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#);
        self.part("xl/worksheets/sheet2.xml", &s)?;

        self.part("xl/styles.xml", STYLES)?;
        let mut names = Vec::new();
        for n in [sheet_name, second_name] {
            let mut e = Vec::new();
            push_escaped(&mut e, n, true);
            names.push(String::from_utf8(e).expect("UTF-8"));
        }
        let mut quoted = Vec::new();
        push_escaped(&mut quoted, &sheet_name.replace('\'', "''"), false);
        let quoted = String::from_utf8(quoted).expect("UTF-8");
        let filter_ref = dollar_range(first, last, last_col);
        self.part(
            "xl/workbook.xml",
            &format!(
                r#"{XML_HEAD}<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><workbookPr/><bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets><sheet name="{}" sheetId="1" r:id="rId1"/><sheet name="{}" sheetId="2" r:id="rId2"/></sheets><definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'{quoted}'!{filter_ref}</definedName></definedNames><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>"#,
                names[0], names[1]
            ),
        )?;
        self.part(
            "xl/_rels/workbook.xml.rels",
            &relationships(&[
                ("worksheet", "worksheets/sheet1.xml"),
                ("worksheet", "worksheets/sheet2.xml"),
                ("styles", "styles.xml"),
            ]),
        )?;
        let mut types = format!(
            r#"{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        );
        if has_notes {
            types.push_str(r#"<Override PartName="/xl/comments1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>"#);
        }
        types.push_str("</Types>");
        self.part("[Content_Types].xml", &types)?;
        self.part(
            "_rels/.rels",
            &format!(
                r#"{XML_HEAD}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" Type="{NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        )
    }
}

fn relationships(targets: &[(&str, &str)]) -> String {
    let mut s = format!(r#"{XML_HEAD}<Relationships xmlns="{NS_PKG_REL}">"#);
    for (i, (kind, target)) in targets.iter().enumerate() {
        s.push_str(&format!(
            r#"<Relationship Id="rId{}" Type="{NS_REL}/{kind}" Target="{target}"/>"#,
            i + 1
        ));
    }
    s.push_str("</Relationships>");
    s
}

pub(super) fn cols_xml(s: &mut String, widths: &[f64]) {
    if widths.is_empty() {
        return;
    }
    s.push_str("<cols>");
    for (i, w) in widths.iter().enumerate() {
        // Excel stores the width with its padding, in 1/256 of a character.
        let stored = (width_px(*w) as f64 / 7.0 * 256.0).trunc() / 256.0;
        s.push_str(&format!(
            r#"<col min="{0}" max="{0}" width="{stored}" customWidth="1"/>"#,
            i + 1
        ));
    }
    s.push_str("</cols>");
}

/// `$A$3:$I$7`.
fn dollar_range(first: u32, last: u32, last_col: u16) -> String {
    let mut v = b"$A$".to_vec();
    let _ = write!(v, "{}:$", first + 1);
    push_col(&mut v, last_col);
    let _ = write!(v, "${}", last + 1);
    String::from_utf8(v).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_ranges_are_spelt_as_excel_does() {
        assert_eq!(dollar_range(2, 6, 8), "$A$3:$I$7");
    }
}

//! Cell notes: each one a `<comment>` (its text) and a VML shape (its box), both appended to
//! temporary files beside the output as cells are flagged, and copied into the archive at the
//! end, so memory does not grow with the notes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use super::package::{NS_MAIN, XML_HEAD};
use super::text::{push_col, push_t};
use super::{with_suffix, Book, ROW_PX};

/// Where the notes of the data sheet wait until the end: the `<comment>` elements and the VML
/// shapes, each in a temporary file beside the output.
pub(super) struct Notes {
    comments: BufWriter<File>,
    comments_path: PathBuf,
    vml: BufWriter<File>,
    vml_path: PathBuf,
    count: u32,
}

impl Book {
    /// A note on the cell at (`row`, `col`), 0-based, `height` pixels tall.
    pub fn note(&mut self, row: u32, col: u16, text: &str, height: u32) -> io::Result<()> {
        if self.notes.is_none() {
            self.notes = Some(self.open_notes()?);
        }
        let notes = self.notes.as_mut().expect("notes just opened");
        let s = &mut self.scratch;
        s.clear();
        s.extend_from_slice(b"<comment ref=\"");
        push_col(s, col);
        let _ = write!(s, "{}", row + 1);
        s.extend_from_slice(
            br#"" authorId="0"><text><r><rPr><sz val="8"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>"#,
        );
        push_t(s, text);
        s.extend_from_slice(b"</r></text></comment>");
        notes.comments.write_all(s)?;

        // The box: right of the cell, starting a row above it, as Excel places notes.
        const WIDTH: u32 = 300;
        let (c1, x1) = (col as u32 + 1, 15);
        let (r1, y1) = (row.saturating_sub(1), 10);
        let col_px = &self.col_px;
        let px = |c: u32| col_px.get(c as usize).copied().unwrap_or(64);
        let (c2, x2) = walk(c1, x1, WIDTH, px);
        let (r2, y2) = walk(r1, y1, height, |_| ROW_PX);
        let left: u32 = (0..c1).map(px).sum::<u32>() + x1;
        let top = r1 * ROW_PX + y1;
        notes.count += 1;
        let id = 1024 + notes.count;
        s.clear();
        let _ = write!(
            s,
            r##"<v:shape id="_x0000_s{id}" type="#_x0000_t202" style="position:absolute;margin-left:{}pt;margin-top:{}pt;width:{}pt;height:{}pt;z-index:{};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{c1}, {x1}, {r1}, {y1}, {c2}, {x2}, {r2}, {y2}</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>"##,
            pt(left),
            pt(top),
            pt(WIDTH),
            pt(height),
            notes.count,
        );
        notes.vml.write_all(s)?;
        Ok(())
    }

    fn open_notes(&self) -> io::Result<Notes> {
        let comments_path = with_suffix(&self.temp_base, "comments");
        let vml_path = with_suffix(&self.temp_base, "vml");
        let comments = BufWriter::new(File::create(&comments_path)?);
        let vml = match File::create(&vml_path) {
            Ok(f) => BufWriter::new(f),
            Err(e) => {
                let _ = std::fs::remove_file(&comments_path);
                return Err(e);
            }
        };
        Ok(Notes {
            comments,
            comments_path,
            vml,
            vml_path,
            count: 0,
        })
    }

    pub(super) fn copy_notes(&mut self, notes: Notes) -> io::Result<()> {
        let Notes {
            comments,
            comments_path,
            vml,
            vml_path,
            count,
        } = notes;
        let comments = comments.into_inner().map_err(|e| e.into_error())?;
        let vml = vml.into_inner().map_err(|e| e.into_error())?;
        drop((comments, vml));

        let options = self.options;
        self.zip()?
            .start_file("xl/comments1.xml", options)
            .map_err(io::Error::other)?;
        self.zip()?.write_all(XML_HEAD.as_bytes())?;
        self.zip()?.write_all(format!(r#"<comments xmlns="{NS_MAIN}"><authors><author>custbulk</author></authors><commentList>"#).as_bytes())?;
        io::copy(&mut File::open(&comments_path)?, self.zip()?)?;
        self.zip()?.write_all(b"</commentList></comments>")?;

        self.zip()?
            .start_file("xl/drawings/vmlDrawing1.vml", options)
            .map_err(io::Error::other)?;
        // Shape ids come in blocks of 1024, each listed in the id map.
        let blocks = (1024 + count) / 1024;
        let map: Vec<String> = (1..=blocks).map(|b| b.to_string()).collect();
        self.zip()?.write_all(
            format!(
                r#"<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{}"/></o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>"#,
                map.join(",")
            )
            .as_bytes(),
        )?;
        io::copy(&mut File::open(&vml_path)?, self.zip()?)?;
        self.zip()?.write_all(b"</xml>")?;
        Ok(())
    }
}

/// Walks `length` pixels from (`start`, `offset`) over cells of `size(i)` pixels: where it ends.
fn walk(start: u32, offset: u32, length: u32, size: impl Fn(u32) -> u32) -> (u32, u32) {
    let (mut i, mut at, mut left) = (start, offset, length);
    loop {
        let s = size(i).max(1);
        if at + left < s {
            return (i, at + left);
        }
        left -= s - at;
        at = 0;
        i += 1;
    }
}

fn pt(px: u32) -> f64 {
    px as f64 * 0.75
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_boxes_end_where_their_size_says() {
        // 70 px from 10 px into a 20 px row: 10 px there, then three rows, ending at 0.
        assert_eq!(walk(3, 10, 70, |_| 20), (7, 0));
        assert_eq!(walk(0, 15, 30, |_| 64), (0, 45));
    }
}

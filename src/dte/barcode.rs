//! The TED's printed form: the PDF417 barcode the SII requires on every printed DTE.
//!
//! What the SII asks (Instructivo Técnico, representación impresa): the `<TED>` element as
//! signed, in ISO-8859-1 with the whitespace between tags removed, in PDF417 byte compaction
//! with error correction level 5; X-dimension at least 0.0067 in, rows three modules high, a
//! quiet zone of at least 0.25 in on every side, at 300 dpi or more, in black, within about
//! 3 cm × 9 cm. The column count is free: the one chosen here is the one that leaves the
//! most room inside 3 × 9 cm for this TED's length.
//!
//! The module is 5 pixels at 600 dpi (0.00833 in, 0.212 mm): 2.5 printer dots at 300 dpi and
//! 5 at 600. Four pixels (0.00667 in) would be under the SII's minimum; six (0.01 in) would
//! not fit a long TED in 3 × 9 cm.

use std::fmt::Write as _;

use rxing::pdf417::encoder::{Compaction, PDF417};

use super::error::{DteError, DteResult};

/// PDF417 error correction level the SII requires.
pub const ERROR_CORRECTION_LEVEL: u32 = 5;
/// Resolution of the PNG.
pub const DPI: u32 = 600;
/// Pixels per module at [`DPI`].
pub const MODULE_PIXELS: u32 = 5;
/// A row is three modules high.
pub const ROW_HEIGHT_MODULES: u32 = 3;
/// Quiet zone on every side, in modules: 32 × 0.00833 in = 0.267 in (the SII asks 0.25 in).
pub const QUIET_ZONE_MODULES: u32 = 32;
/// The largest symbol (bars only) the SII accepts, in millimetres.
pub const MAX_WIDTH_MM: f64 = 90.0;
pub const MAX_HEIGHT_MM: f64 = 30.0;

const MM_PER_INCH: f64 = 25.4;
/// PDF417 limits: 1 to 30 data columns, 3 to 90 rows.
const MAX_COLUMNS: u32 = 30;

/// The `<TED>…</TED>` of a stored, signed DTE, byte for byte as it was signed, with the
/// whitespace between tags removed (whitespace inside text is kept). The document must hold
/// exactly one TED.
pub fn ted_bytes(signed_dte: &[u8]) -> DteResult<Vec<u8>> {
    let starts: Vec<usize> = find_all(signed_dte, b"<TED")
        .into_iter()
        .filter(|&at| matches!(signed_dte.get(at + 4), Some(b' ' | b'>' | b'\t' | b'\r' | b'\n')))
        .collect();
    let start = match starts.as_slice() {
        [one] => *one,
        [] => return Err(DteError::MalformedXml("the document has no TED".into())),
        _ => return Err(DteError::MalformedXml("the document has more than one TED".into())),
    };
    let close = b"</TED>";
    let ted = signed_dte
        .get(start..)
        .and_then(|from_start| from_start.get(..find_all(from_start, close).first()? + close.len()))
        .ok_or_else(|| DteError::MalformedXml("the document's TED is not closed".into()))?;
    Ok(compact_bytes_between_tags(ted))
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}

/// `>\s+<` → `><` over bytes (the SII's rule; ISO-8859-1 whitespace is ASCII).
fn compact_bytes_between_tags(xml: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len());
    let mut rest = xml;
    while let Some((&byte, after)) = rest.split_first() {
        out.push(byte);
        rest = after;
        if byte == b'>' {
            let blank = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if let Some(tag) = after.get(blank..).filter(|tag| tag.first() == Some(&b'<')) {
                rest = tag;
            }
        }
    }
    out
}

/// A TED encoded as PDF417, ready to draw.
#[derive(Debug, Clone)]
pub struct TedBarcode {
    ted: Vec<u8>,
    columns: u32,
    /// One entry per row (top to bottom), one bool per module (true = bar).
    modules: Vec<Vec<bool>>,
}

impl TedBarcode {
    /// Encodes `ted` (the bytes from [`ted_bytes`]) with the column count that leaves the
    /// most room within 3 × 9 cm. Refuses a TED that cannot fit.
    pub fn encode(ted: &[u8]) -> DteResult<Self> {
        if ted.is_empty() {
            return Err(DteError::input("ted", "is empty"));
        }
        let mut best: Option<(f64, TedBarcode)> = None;
        for columns in 1..=MAX_COLUMNS {
            let Ok(barcode) = Self::encode_with_columns(ted, columns) else { continue };
            let (width, height) = (barcode.width_mm(), barcode.height_mm());
            if width > MAX_WIDTH_MM || height > MAX_HEIGHT_MM {
                continue;
            }
            let crowding = (width / MAX_WIDTH_MM).max(height / MAX_HEIGHT_MM);
            if best.as_ref().is_none_or(|(c, _)| crowding < *c) {
                best = Some((crowding, barcode));
            }
        }
        best.map(|(_, barcode)| barcode).ok_or_else(|| {
            DteError::input(
                "ted",
                format!("{} bytes do not fit in a PDF417 of {MAX_HEIGHT_MM} × {MAX_WIDTH_MM} mm", ted.len()),
            )
        })
    }

    /// Encodes `ted` with exactly `columns` data columns.
    pub fn encode_with_columns(ted: &[u8], columns: u32) -> DteResult<Self> {
        // Each byte as the character of the same code point: the encoder's ISO-8859-1 turns
        // it back into the same byte, without an ECI marker.
        let message: String = ted.iter().map(|&b| char::from(b)).collect();
        let mut pdf417 = PDF417::new();
        pdf417.setCompaction(Compaction::BYTE);
        pdf417.setDimensions(columns, columns, 90, 3);
        pdf417
            .generateBarcodeLogic(&message, ERROR_CORRECTION_LEVEL)
            .map_err(|e| DteError::input("ted", format!("cannot be encoded in {columns} columns: {e}")))?;
        let matrix = pdf417
            .getBarcodeMatrix()
            .as_ref()
            .ok_or_else(|| DteError::input("ted", "the PDF417 encoder gave no symbol"))?
            .getMatrix();
        // The encoder lists rows bottom to top.
        let modules: Vec<Vec<bool>> = matrix.iter().rev().map(|row| row.iter().map(|&m| m == 1).collect()).collect();
        let width = 17 * columns as usize + 69;
        if modules.is_empty() || modules.iter().any(|row| row.len() != width) {
            return Err(DteError::input("ted", "the PDF417 encoder gave a symbol of an unexpected shape"));
        }
        Ok(Self { ted: ted.to_vec(), columns, modules })
    }

    /// The bytes the barcode holds.
    pub fn ted(&self) -> &[u8] {
        &self.ted
    }

    pub fn columns(&self) -> u32 {
        self.columns
    }

    pub fn rows(&self) -> u32 {
        self.modules.len() as u32
    }

    /// Width of the symbol in modules (start and stop patterns and row indicators included).
    pub fn width_modules(&self) -> u32 {
        self.modules.first().map_or(0, |row| row.len() as u32)
    }

    /// Module width (X-dimension) in millimetres.
    pub fn module_mm() -> f64 {
        f64::from(MODULE_PIXELS) / f64::from(DPI) * MM_PER_INCH
    }

    /// Bars only, without the quiet zone.
    pub fn width_mm(&self) -> f64 {
        f64::from(self.width_modules()) * Self::module_mm()
    }

    pub fn height_mm(&self) -> f64 {
        f64::from(self.rows() * ROW_HEIGHT_MODULES) * Self::module_mm()
    }

    pub fn quiet_zone_mm() -> f64 {
        f64::from(QUIET_ZONE_MODULES) * Self::module_mm()
    }

    /// Image size in pixels at [`DPI`], quiet zone included.
    pub fn image_pixels(&self) -> (u32, u32) {
        let border = 2 * QUIET_ZONE_MODULES;
        ((self.width_modules() + border) * MODULE_PIXELS, (self.rows() * ROW_HEIGHT_MODULES + border) * MODULE_PIXELS)
    }

    /// A 1-bit black-and-white PNG at [`DPI`] (its `pHYs` says so), quiet zone included.
    pub fn to_png(&self) -> DteResult<Vec<u8>> {
        let (width, height) = self.image_pixels();
        let stride = width.div_ceil(8) as usize;
        let quiet = (QUIET_ZONE_MODULES * MODULE_PIXELS) as usize;
        let row_pixels = (ROW_HEIGHT_MODULES * MODULE_PIXELS) as usize;
        // 1 = white in grayscale.
        let mut pixels = vec![0xFF_u8; stride * height as usize];
        for (row_index, row) in self.modules.iter().enumerate() {
            let mut line = vec![0xFF_u8; stride];
            for (column, _) in row.iter().enumerate().filter(|(_, bar)| **bar) {
                for dx in 0..MODULE_PIXELS as usize {
                    let x = quiet + column * MODULE_PIXELS as usize + dx;
                    if let Some(byte) = line.get_mut(x / 8) {
                        *byte &= !(0x80 >> (x % 8));
                    }
                }
            }
            for dy in 0..row_pixels {
                let y = quiet + row_index * row_pixels + dy;
                if let Some(target) = pixels.get_mut(y * stride..(y + 1) * stride) {
                    target.copy_from_slice(&line);
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            let per_metre = (f64::from(DPI) / MM_PER_INCH * 1000.0).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_metre,
                yppu: per_metre,
                unit: png::Unit::Meter,
            }));
            let mut writer = encoder
                .write_header()
                .map_err(|e| DteError::Config(format!("PNG header could not be written: {e}")))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| DteError::Config(format!("PNG data could not be written: {e}")))?;
            writer.finish().map_err(|e| DteError::Config(format!("PNG could not be finished: {e}")))?;
        }
        Ok(out)
    }

    /// An SVG in millimetres (one module = one user unit), quiet zone included: each run of
    /// bars in a row is one rectangle of the path.
    pub fn to_svg(&self) -> String {
        let border = 2 * QUIET_ZONE_MODULES;
        let (width, height) = (self.width_modules() + border, self.rows() * ROW_HEIGHT_MODULES + border);
        let module = Self::module_mm();
        let mut path = String::new();
        for (row_index, row) in self.modules.iter().enumerate() {
            let y = QUIET_ZONE_MODULES as usize + row_index * ROW_HEIGHT_MODULES as usize;
            let mut column = 0;
            for same in row.chunk_by(|a, b| a == b) {
                if same.first() == Some(&true) {
                    let (x, run) = (QUIET_ZONE_MODULES as usize + column, same.len());
                    let _ = write!(path, "M{x} {y}h{run}v{ROW_HEIGHT_MODULES}h-{run}z");
                }
                column += same.len();
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w:.3}mm\" height=\"{h:.3}mm\" \
             viewBox=\"0 0 {width} {height}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>",
            w = f64::from(width) * module,
            h = f64::from(height) * module,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_ted(name: &[u8]) -> Vec<u8> {
        let mut ted = b"<TED version=\"1.0\"><DD><RE>76000001-9</RE><TD>33</TD><F>1</F><FE>2026-01-05</FE>\
            <RR>77777777-7</RR><RSR>"
            .to_vec();
        ted.extend_from_slice(name);
        ted.extend_from_slice(
            b"</RSR><MNT>11900</MNT><IT1>Servicio</IT1><CAF version=\"1.0\"><DA><RE>76000001-9</RE>\
            <RS>EMPRESA DE PRUEBA SINTETICA SPA</RS><TD>33</TD><RNG><D>1</D><H>100</H></RNG>\
            <FA>2026-01-02</FA><RSAPK>\
            <M>yeRcgRmxPmuKWwKEfEoQZPON8Op9wk4yVS9B/6al+1S4IMnJE26M4NOdPmgB9KbyeYGgtZtApAPW3EIeNPk7uw==</M>\
            <E>Aw==</E></RSAPK><IDK>100</IDK></DA><FRMA algoritmo=\"SHA1withRSA\">\
            GrFESOl5qg4+zXmBedq8yT600YW7MhW3U9Z9d6lThfFJs97MzPRSE8AuyX4q3xmlt6CLRfYXGSouJmNYty1gPeYkYXpSo2IDY4rX8h+X\
            GcBPZHU1e3LOpJSDKqhmQKat4oS14ITe9TfOIR5PX4jPjEFj62xnX3sj1pDrMU2DIGE=</FRMA>\
            </CAF><TSTED>2026-01-05T10:00:00</TSTED></DD><FRMT algoritmo=\"SHA1withRSA\">\
            S00Bxt2A0/5fz3nzT331g1io/kXGZcl5vQ4jRtz9ttFNh5TI14JRhNad3toCgBd3DRRsVId+k+ypFSBeCSN38Q==</FRMT></TED>",
        );
        ted
    }

    #[test]
    fn the_ted_is_cut_from_the_document_as_stored_and_compacted_between_tags() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<DTE version=\"1.0\"><Documento>\n  \
            <TEDx/><TED version=\"1.0\">\n  <DD><RSR>\xd1and\xfa &amp; Co  </RSR></DD>\n  <FRMT>a b</FRMT>\n</TED>\n\
            <TmstFirma>2026</TmstFirma></Documento></DTE>";
        assert_eq!(
            ted_bytes(doc).unwrap(),
            b"<TED version=\"1.0\"><DD><RSR>\xd1and\xfa &amp; Co  </RSR></DD><FRMT>a b</FRMT></TED>".to_vec()
        );
        assert!(ted_bytes(b"<DTE><Documento/></DTE>").is_err());
        assert!(ted_bytes(b"<DTE><TED version=\"1.0\"></TED><TED version=\"1.0\"></TED></DTE>").is_err());
        assert!(ted_bytes(b"<DTE><TED version=\"1.0\"><DD>").is_err());
    }

    #[test]
    fn a_long_ted_fits_in_three_by_nine_centimetres_with_modules_above_the_minimum() {
        // RSR and IT1 at their 40 characters, Latin-1 letters included: the longest TED.
        let ted = sample_ted(
            b"\xd1\xd1\xd1\xd1\xd1 &amp; HIJOS LIMITADA \xc1\xc9\xcd\xd3\xda \xe1\xe9\xed\xf3\xfa XXXXXXXXX",
        );
        let barcode = TedBarcode::encode(&ted).unwrap();
        assert!(TedBarcode::module_mm() >= 0.0067 * MM_PER_INCH, "{}", TedBarcode::module_mm());
        assert!(TedBarcode::quiet_zone_mm() >= 0.25 * MM_PER_INCH);
        assert!(barcode.width_mm() <= 90.0 && barcode.height_mm() <= 30.0);
        assert_eq!(barcode.width_modules(), 17 * barcode.columns() + 69);
        assert!((3..=90).contains(&barcode.rows()));
        assert_eq!(barcode.ted(), ted.as_slice());
    }

    #[test]
    fn a_short_ted_gets_fewer_columns_than_a_long_one() {
        let short = TedBarcode::encode(b"<TED version=\"1.0\"><DD><F>1</F></DD></TED>").unwrap();
        let long = TedBarcode::encode(&sample_ted(b"CLIENTE")).unwrap();
        assert!(short.columns() < long.columns(), "{} vs {}", short.columns(), long.columns());
    }

    #[test]
    fn a_ted_too_long_for_the_size_limit_is_refused() {
        let error = TedBarcode::encode(&vec![b'A'; 1200]).unwrap_err();
        assert!(error.to_string().contains("do not fit"), "{error}");
        assert!(TedBarcode::encode(b"").is_err());
    }

    #[test]
    fn png_is_one_bit_at_600_dpi_with_the_quiet_zone_white() {
        let barcode = TedBarcode::encode(&sample_ted(b"CLIENTE")).unwrap();
        let png_bytes = barcode.to_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info().clone();
        assert_eq!((info.width, info.height), barcode.image_pixels());
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let dims = info.pixel_dims.unwrap();
        assert_eq!(dims.unit, png::Unit::Meter);
        assert!((f64::from(dims.xppu) * 0.0254 - 600.0).abs() < 0.01);
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buffer).unwrap();
        let stride = frame.line_size;
        let black = |x: u32, y: u32| buffer[y as usize * stride + x as usize / 8] & (0x80 >> (x % 8)) == 0;
        let quiet = QUIET_ZONE_MODULES * MODULE_PIXELS;
        let (width, height) = barcode.image_pixels();
        for y in 0..height {
            for x in 0..width {
                let inside = (quiet..width - quiet).contains(&x) && (quiet..height - quiet).contains(&y);
                if !inside {
                    assert!(!black(x, y), "ink in the quiet zone at {x},{y}");
                }
            }
        }
        // Every row starts with the start pattern's 8-module bar.
        for row in 0..barcode.rows() {
            let y = quiet + row * ROW_HEIGHT_MODULES * MODULE_PIXELS + 1;
            let run = (quiet..width).take_while(|&x| black(x, y)).count() as u32;
            assert_eq!(run, 8 * MODULE_PIXELS, "row {row}");
        }
    }

    #[test]
    fn svg_has_the_physical_size_and_one_rectangle_per_run_of_bars() {
        let barcode = TedBarcode::encode(&sample_ted(b"CLIENTE")).unwrap();
        let svg = barcode.to_svg();
        let total_width = barcode.width_mm() + 2.0 * TedBarcode::quiet_zone_mm();
        assert!(svg.contains(&format!("width=\"{total_width:.3}mm\"")), "{}", &svg[..200]);
        let runs: usize = barcode
            .modules
            .iter()
            .map(|row| row.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(row[0]))
            .sum();
        assert_eq!(svg.matches('z').count(), runs);
        roxmltree::Document::parse(&svg).unwrap();
    }
}

//! The script's bytes → text.
//!
//! Why not `String::from_utf8_lossy`: scripts written on Windows or exported by older tools are
//! often Windows-1252 (or Latin-1, which browsers and most tools read as Windows-1252), and a
//! lossy read silently turns `'/opt/r\xe9plica/run.sh'` into `'/opt/r\u{fffd}plica/run.sh'`:
//! a path that no longer exists, with nothing said. So: valid UTF-8 (with or without a BOM) is
//! read as it is; a UTF-16 file with a BOM (Notepad's "Unicode") is decoded; anything else is
//! decoded as Windows-1252, and the caller warns where the first non-UTF-8 byte is. `--encoding`
//! names the encoding instead of guessing. The tables are small and fixed, so they are written
//! here rather than taken from a crate.

/// An encoding `--encoding` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Windows-1252; `latin1` and `iso-8859-1` mean this too (as in the WHATWG encoding
    /// standard, since real "Latin-1" files use its 0x80–0x9F characters).
    Windows1252,
    /// ISO-8859-15 (Latin-9: Latin-1 with `€`, `Š`, `š`, `Ž`, `ž`, `Œ`, `œ`, `Ÿ`).
    Iso8859_15,
    /// UTF-16, little-endian unless a BOM says otherwise.
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    /// The encoding named `label` (case-insensitive; `-` and `_` are optional).
    pub fn from_label(label: &str) -> Option<Encoding> {
        let l: String = label
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .collect();
        Some(match l.as_str() {
            "utf8" => Encoding::Utf8,
            "windows1252" | "cp1252" | "win1252" | "latin1" | "iso88591" | "l1" => {
                Encoding::Windows1252
            }
            "iso885915" | "latin9" | "l9" => Encoding::Iso8859_15,
            "utf16" | "utf16le" => Encoding::Utf16Le,
            "utf16be" => Encoding::Utf16Be,
            _ => return None,
        })
    }

    /// The labels [`Encoding::from_label`] accepts, for an error message.
    pub const LABELS: &'static str =
        "utf-8, windows-1252 (also cp1252, latin1, iso-8859-1), iso-8859-15 (latin9), utf-16le, utf-16be";

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252",
            Encoding::Iso8859_15 => "ISO-8859-15",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }
}

/// The decoded script.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// Set when the encoding was guessed because the bytes are not UTF-8: the offset in `text`
    /// of the character decoded from the first non-UTF-8 byte, and the encoding used.
    pub guessed: Option<(usize, Encoding)>,
}

/// Why the bytes cannot be read in the named encoding: where (byte offset) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub offset: usize,
    pub message: String,
}

/// Decode `bytes` in `encoding`, or guess (UTF-8, a UTF-16 BOM, else Windows-1252).
pub fn decode(bytes: &[u8], encoding: Option<Encoding>) -> Result<Decoded, DecodeError> {
    let plain = |text: String| Decoded {
        text,
        guessed: None,
    };
    match encoding {
        None => {
            if let Some(e) = utf16_bom(bytes) {
                return utf16(&bytes[2..], e).map(plain);
            }
            match std::str::from_utf8(bytes) {
                Ok(t) => Ok(plain(t.to_string())),
                Err(e) => {
                    let at = single_byte(&bytes[..e.valid_up_to()], Encoding::Windows1252).len();
                    Ok(Decoded {
                        text: single_byte(bytes, Encoding::Windows1252),
                        guessed: Some((at, Encoding::Windows1252)),
                    })
                }
            }
        }
        Some(Encoding::Utf8) => match std::str::from_utf8(bytes) {
            Ok(t) => Ok(plain(t.to_string())),
            Err(e) => Err(DecodeError {
                offset: e.valid_up_to(),
                message: format!(
                    "byte 0x{:02X} is not UTF-8, as --encoding utf-8 says the file is",
                    bytes.get(e.valid_up_to()).copied().unwrap_or(0)
                ),
            }),
        },
        Some(e @ (Encoding::Windows1252 | Encoding::Iso8859_15)) => {
            Ok(plain(single_byte(bytes, e)))
        }
        Some(e @ (Encoding::Utf16Le | Encoding::Utf16Be)) => {
            // A BOM, if any, decides the byte order.
            match utf16_bom(bytes) {
                Some(bom) => utf16(&bytes[2..], bom),
                None => utf16(bytes, e),
            }
            .map(plain)
        }
    }
}

fn utf16_bom(bytes: &[u8]) -> Option<Encoding> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(Encoding::Utf16Le),
        [0xFE, 0xFF, ..] => Some(Encoding::Utf16Be),
        _ => None,
    }
}

fn utf16(bytes: &[u8], e: Encoding) -> Result<String, DecodeError> {
    if bytes.len() % 2 != 0 {
        return Err(DecodeError {
            offset: bytes.len().saturating_sub(1),
            message: format!("{}: the file has an odd number of bytes", e.name()),
        });
    }
    let units = bytes.chunks_exact(2).map(|p| match e {
        Encoding::Utf16Be => u16::from_be_bytes([p[0], p[1]]),
        _ => u16::from_le_bytes([p[0], p[1]]),
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    for (k, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok(c) => out.push(c),
            Err(_) => {
                return Err(DecodeError {
                    offset: k * 2,
                    message: format!("{}: an unpaired surrogate", e.name()),
                })
            }
        }
    }
    Ok(out)
}

/// Windows-1252's 0x80–0x9F. The five bytes it leaves undefined map to the C1 control of the
/// same number, as the WHATWG encoding standard does, so every byte decodes.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

fn single_byte(bytes: &[u8], e: Encoding) -> String {
    bytes
        .iter()
        .map(|&b| match (e, b) {
            (Encoding::Windows1252, 0x80..=0x9F) => CP1252_HIGH[usize::from(b - 0x80)],
            (Encoding::Iso8859_15, 0xA4) => '\u{20AC}',
            (Encoding::Iso8859_15, 0xA6) => '\u{160}',
            (Encoding::Iso8859_15, 0xA8) => '\u{161}',
            (Encoding::Iso8859_15, 0xB4) => '\u{17D}',
            (Encoding::Iso8859_15, 0xB8) => '\u{17E}',
            (Encoding::Iso8859_15, 0xBC) => '\u{152}',
            (Encoding::Iso8859_15, 0xBD) => '\u{153}',
            (Encoding::Iso8859_15, 0xBE) => '\u{178}',
            _ => char::from(b),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_read_as_it_is() {
        let d = decode("é €".as_bytes(), None).unwrap();
        assert_eq!(d.text, "é €");
        assert_eq!(d.guessed, None);
    }

    #[test]
    fn latin1_bytes_are_guessed_as_windows_1252() {
        let d = decode(b"-- x\n'/opt/r\xe9plica' \x80", None).unwrap();
        assert_eq!(d.text, "-- x\n'/opt/réplica' €");
        assert_eq!(d.guessed, Some((12, Encoding::Windows1252)));
    }

    #[test]
    fn named_encodings() {
        assert_eq!(
            decode(b"\xa4", Some(Encoding::Iso8859_15)).unwrap().text,
            "€"
        );
        assert_eq!(
            decode(b"\xa4", Some(Encoding::Windows1252)).unwrap().text,
            "¤"
        );
        assert_eq!(decode(b"\x81", None).unwrap().text, "\u{81}");
        let e = decode(b"ok\xe9", Some(Encoding::Utf8)).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.message.contains("0xE9"), "{}", e.message);
        assert_eq!(
            Encoding::from_label("ISO-8859-1"),
            Some(Encoding::Windows1252)
        );
        assert_eq!(Encoding::from_label("latin9"), Some(Encoding::Iso8859_15));
        assert_eq!(Encoding::from_label("ebcdic"), None);
    }

    #[test]
    fn utf16_with_a_bom() {
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("é;".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&le, None).unwrap().text, "é;");
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("x".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(&be, None).unwrap().text, "x");
        assert!(decode(&[0xFF, 0xFE, 0x41], None).is_err());
    }
}

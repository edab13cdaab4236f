//! Cards inside PNG images: `ccv3` and `chara` tEXt chunks (base64 JSON),
//! `chara-ext-asset_:{path}` asset chunks, and writing them back.
//!
//! The image is always decoded in full first, which checks every chunk's CRC
//! and the pixel data. Only then are card chunks cut out of (or spliced into)
//! the original byte stream, so an avatar keeps its exact bytes through any
//! number of round trips.

use std::collections::BTreeMap;
use std::io::Cursor;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use png::text_metadata::{EncodableTextChunk, TEXtChunk};

use super::CardError;

pub const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
pub const ASSET_CHUNK_PREFIX: &str = "chara-ext-asset_:";

/// Standard base64 that tolerates missing padding.
pub const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a card PNG holds.
pub struct PngCard {
    /// The card JSON bytes: from `ccv3` when present, else from `chara`.
    pub card_json: Vec<u8>,
    /// The image alone: the original bytes less the card chunks.
    pub image: Vec<u8>,
    /// `chara-ext-asset_` chunks, by path.
    pub assets: BTreeMap<String, Vec<u8>>,
}

/// A decoded image in 8-bit samples.
struct Pixels {
    width: u32,
    height: u32,
    color: png::ColorType,
    data: Vec<u8>,
}

/// Decodes the whole image: every chunk's CRC and the pixel data are checked.
fn decode(bytes: &[u8]) -> Result<(Pixels, Vec<TEXtChunk>), CardError> {
    let perr = |e: png::DecodingError| CardError::Png(e.to_string());
    // A card lives in ancillary chunks, so their CRCs must be checked too
    // (the png crate skips ancillary chunks with a bad CRC by default).
    let mut options = png::DecodeOptions::default();
    options.set_skip_ancillary_crc_failures(false);
    let mut decoder = png::Decoder::new_with_options(Cursor::new(bytes), options);
    decoder.set_limits(png::Limits { bytes: 256 << 20 });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(perr)?;
    let size = reader.output_buffer_size().ok_or_else(|| CardError::Png("the image is too large".into()))?;
    if size > 256 << 20 {
        return Err(CardError::Png("the image is too large".into()));
    }
    let mut data = vec![0; size];
    let frame = reader.next_frame(&mut data).map_err(perr)?;
    data.truncate(frame.buffer_size());
    reader.finish().map_err(perr)?;
    let (color, _) = reader.output_color_type();
    let text = reader.info().uncompressed_latin1_text.clone();
    Ok((Pixels { width: frame.width, height: frame.height, color, data }, text))
}

fn encode(pixels: &Pixels) -> Result<Vec<u8>, CardError> {
    let eerr = |e: png::EncodingError| CardError::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixels.width, pixels.height);
    encoder.set_color(pixels.color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(eerr)?;
    writer.write_image_data(&pixels.data).map_err(eerr)?;
    writer.finish().map_err(eerr)?;
    Ok(out)
}

fn decode_base64(what: &str, text: &str) -> Result<Vec<u8>, CardError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact.as_bytes()).map_err(|e| CardError::Base64(what.to_owned(), e))
}

/// Reads a card PNG. `ccv3` wins over `chara`, as the V3 spec says.
pub fn read(bytes: &[u8]) -> Result<PngCard, CardError> {
    let (_, text) = decode(bytes)?;
    let find = |key: &str| -> Result<Option<&TEXtChunk>, CardError> {
        let mut found = text.iter().filter(|c| c.keyword.eq_ignore_ascii_case(key));
        let first = found.next();
        if first.is_some() && found.next().is_some() {
            return Err(CardError::Png(format!("more than one `{key}` chunk; the card is ambiguous")));
        }
        Ok(first)
    };
    let chunk = match find("ccv3")? {
        Some(c) => c,
        None => find("chara")?.ok_or(CardError::NoCardInPng)?,
    };
    let card_json = decode_base64(&format!("the `{}` chunk", chunk.keyword), &chunk.text)?;
    let mut assets = BTreeMap::new();
    for c in &text {
        if let Some(path) = c.keyword.strip_prefix(ASSET_CHUNK_PREFIX) {
            let data = decode_base64(&format!("the `{}` chunk", c.keyword), &c.text)?;
            if assets.insert(path.to_owned(), data).is_some() {
                return Err(CardError::Png(format!("asset chunk `{}` appears twice", c.keyword)));
            }
        }
    }
    Ok(PngCard { card_json, image: strip_card_chunks(bytes), assets })
}

/// Checks that `bytes` is a whole, valid PNG and returns it without card chunks.
pub fn clean_image(bytes: &[u8]) -> Result<Vec<u8>, CardError> {
    decode(bytes)?;
    Ok(strip_card_chunks(bytes))
}

/// Byte ranges of the chunks of a PNG that [`decode`] already accepted,
/// up to and including `IEND` (anything after it is dropped).
fn chunk_spans(bytes: &[u8]) -> Vec<([u8; 4], std::ops::Range<usize>)> {
    let mut spans = Vec::new();
    let mut at = PNG_SIGNATURE.len();
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = [header[4], header[5], header[6], header[7]];
        let end = at + 12 + len;
        if end > bytes.len() {
            break;
        }
        spans.push((kind, at..end));
        at = end;
        if &kind == b"IEND" {
            break;
        }
    }
    spans
}

/// Whether a chunk carries card data: a text chunk keyed `chara`, `ccv3` or `chara-ext-asset_…`.
fn is_card_chunk(kind: &[u8; 4], chunk: &[u8]) -> bool {
    if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt") {
        return false;
    }
    let data = &chunk[8..chunk.len() - 4];
    let keyword = data.split(|b| *b == 0).next().unwrap_or_default().to_ascii_lowercase();
    keyword == b"chara" || keyword == b"ccv3" || keyword.starts_with(ASSET_CHUNK_PREFIX.as_bytes())
}

fn strip_card_chunks(bytes: &[u8]) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    for (kind, span) in chunk_spans(bytes) {
        if !is_card_chunk(&kind, &bytes[span.clone()]) {
            out.extend_from_slice(&bytes[span]);
        }
    }
    out
}

/// Writes a card PNG: the image (or a generated one), then `chara` (V2),
/// `ccv3` (V3) and any asset chunks, each as base64 tEXt.
pub fn write(
    image: Option<&[u8]>,
    seed: &str,
    chara: &[u8],
    ccv3: &[u8],
    assets: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, CardError> {
    let base = match image {
        Some(image) => clean_image(image)?,
        None => encode(&default_avatar(seed))?,
    };
    let b64 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(data);
    let mut chunks = vec![("chara".to_owned(), b64(chara)), ("ccv3".to_owned(), b64(ccv3))];
    for (path, data) in assets {
        chunks.push((format!("{ASSET_CHUNK_PREFIX}{path}"), b64(data)));
    }
    // Like SillyTavern, the card chunks go right before IEND.
    let iend = chunk_spans(&base)
        .into_iter()
        .find(|(kind, _)| kind == b"IEND")
        .map(|(_, span)| span.start)
        .ok_or_else(|| CardError::Png("the image has no IEND chunk".into()))?;
    let mut out = base[..iend].to_vec();
    for (keyword, text) in chunks {
        TEXtChunk::new(keyword, text).encode(&mut out).map_err(|e| CardError::Encode(e.to_string()))?;
    }
    out.extend_from_slice(&base[iend..]);
    Ok(out)
}

/// A calm two-colour gradient derived from `seed`, for agents without an avatar.
fn default_avatar(seed: &str) -> Pixels {
    let hash = seed.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193));
    let hue = (hash % 360) as f32;
    let rgb = |h: f32, l: f32| -> [u8; 3] {
        let c = (1.0 - (2.0 * l - 1.0).abs()) * 0.55;
        let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
        let (r, g, b) = match (h / 60.0) as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let m = l - c / 2.0;
        [((r + m) * 255.0) as u8, ((g + m) * 255.0) as u8, ((b + m) * 255.0) as u8]
    };
    let (top, bottom) = (rgb(hue, 0.62), rgb((hue + 40.0) % 360.0, 0.38));
    let size = 256u32;
    let mut data = Vec::with_capacity((size * size * 3) as usize);
    for y in 0..size {
        let t = y as f32 / (size - 1) as f32;
        for _ in 0..size {
            for i in 0..3 {
                data.push((top[i] as f32 * (1.0 - t) + bottom[i] as f32 * t) as u8);
            }
        }
    }
    Pixels { width: size, height: size, color: png::ColorType::Rgb, data }
}

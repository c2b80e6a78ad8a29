//! Mutations every target shares: of bytes, and of the pieces of text between separators
//! (records and fields, lines and values).

use crate::rng::Rng;

/// Bytes that mean something to one decoder or another.
const SPECIAL_BYTES: &[u8] = b"\0\n\r\t ,;\"'\\=[]{}:.-+0123456789eE%\x7f\x80\xc3\xff";

/// One random change to the bytes: flip, set, insert, delete, duplicate, or splice in a piece
/// of another input, or a token of the target's dictionary.
pub fn bytes(input: &[u8], pool: &[Vec<u8>], tokens: &[&[u8]], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let len = out.len();
    match rng.below(9) {
        0 if len > 0 => {
            let at = rng.below(len);
            out[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            out[at] = *rng.pick(SPECIAL_BYTES);
        }
        2 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let inserted: Vec<u8> = (0..n).map(|_| *rng.pick(SPECIAL_BYTES)).collect();
            out.splice(at..at, inserted);
        }
        3 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            out.drain(at..at + n);
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(256));
            let piece = out[at..at + n].to_vec();
            let to = rng.below(len + 1);
            out.splice(to..to, piece);
        }
        5 if !pool.is_empty() => {
            let other = rng.pick(pool);
            if !other.is_empty() {
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(512));
                let at = rng.below(len + 1);
                let end = (at + rng.below(n + 1)).min(len);
                out.splice(at..end, other[from..from + n].iter().copied());
            }
        }
        6 if !tokens.is_empty() => {
            let at = rng.below(len + 1);
            out.splice(at..at, rng.pick(tokens).iter().copied());
        }
        7 if len > 0 => out.truncate(rng.below(len)),
        _ => {
            // A run of one byte, long enough to pass buffer and excerpt sizes.
            let at = rng.below(len + 1);
            let n = *rng.pick(&[2usize, 61, 255, 256, 4097]);
            let byte = *rng.pick(SPECIAL_BYTES);
            out.splice(at..at, std::iter::repeat_n(byte, n));
        }
    }
    out
}

/// `input` cut at `separator` (the separator kept at the end of each piece).
pub fn pieces(input: &[u8], separator: u8) -> Vec<Vec<u8>> {
    input
        .split_inclusive(|&b| b == separator)
        .map(<[u8]>::to_vec)
        .collect()
}

/// One random change to the pieces of `input` cut at `separator`: one dropped, repeated, moved,
/// or replaced by a token.
pub fn pieces_of(input: &[u8], separator: u8, tokens: &[&[u8]], rng: &mut Rng) -> Vec<u8> {
    let mut parts = pieces(input, separator);
    if parts.is_empty() {
        return tokens.first().map(|t| t.to_vec()).unwrap_or_default();
    }
    let at = rng.below(parts.len());
    match rng.below(4) {
        0 => {
            parts.remove(at);
        }
        1 => {
            let copy = parts[at].clone();
            parts.insert(rng.below(parts.len() + 1), copy);
        }
        2 => {
            let other = rng.below(parts.len());
            parts.swap(at, other);
        }
        _ => {
            let ends_with_separator = parts[at].last() == Some(&separator);
            let mut token = rng.pick(tokens).to_vec();
            if ends_with_separator {
                token.push(separator);
            }
            parts[at] = token;
        }
    }
    parts.concat()
}

//! The request signature every client sends: `rand_str = md5_hex(timestamp + token)`.

use md5::{Digest, Md5};

/// Lowercase hex of `md5(timestamp ++ token)`, exactly as the original clients compute it.
pub fn rand_str(timestamp: &str, token: &str) -> String {
    let mut h = Md5::new();
    h.update(timestamp.as_bytes());
    h.update(token.as_bytes());
    hex(&h.finalize())
}

/// The three query parameters of a signed request, in the documented order.
pub fn signed_query(user_id: i64, token: &str, timestamp_ms: i64) -> String {
    let ts = timestamp_ms.to_string();
    format!(
        "rand_str={}&timestamp={}&user_id={}",
        rand_str(&ts, token),
        ts,
        user_id
    )
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_md5() {
        // md5("") and md5("abc") are well-known vectors.
        assert_eq!(rand_str("", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(rand_str("a", "bc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn query_contains_signature_of_timestamp_and_token() {
        let q = signed_query(7, "tok", 1537514281502);
        assert_eq!(
            q,
            format!(
                "rand_str={}&timestamp=1537514281502&user_id=7",
                rand_str("1537514281502", "tok")
            )
        );
    }
}

//! SDK-HMAC-SHA256, the request signature of the Huawei Cloud SDKs (`../shared/reference/bss-api.md`
//! section 2): the canonical request rebuilt from the raw request, and a constant-time check.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm name in `Authorization` and the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The parts of a request that its signature covers, as they arrived.
#[derive(Clone, Copy, Debug)]
pub struct Signable<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The raw path of the request line, without the query.
    pub path: &'a str,
    /// The raw query, without `?` (empty when there is none).
    pub query: &'a str,
    /// The request's headers: name and raw value.
    pub headers: &'a [(&'a str, &'a str)],
    /// The raw body.
    pub body: &'a [u8],
}

/// The `Authorization` header's parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The access key.
    pub access: String,
    /// The signed header names, lowercase, as listed.
    pub signed_headers: Vec<String>,
    /// The signature, lowercase hex.
    pub signature: String,
}

impl Authorization {
    /// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`; `None` when it is
    /// not of that form.
    pub fn parse(header: &str) -> Option<Authorization> {
        let rest = header.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
        let (mut access, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            let slot = match name {
                "Access" => &mut access,
                "SignedHeaders" => &mut signed,
                "Signature" => &mut signature,
                _ => return None,
            };
            if slot.replace(value).is_some() {
                return None;
            }
        }
        let signed_headers: Vec<String> = signed?.split(';').map(str::to_owned).collect();
        let well_formed =
            signed_headers.iter().all(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()));
        let (access, signature) = (access?, signature?);
        (well_formed && !access.is_empty() && signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Authorization { access: access.to_owned(), signed_headers, signature: signature.to_ascii_lowercase() })
    }
}

fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, ENCODED).to_string()
}

fn decode(text: &str) -> Vec<u8> {
    percent_decode_str(text).collect()
}

/// The canonical URI: each segment of the decoded path re-encoded, with a trailing `/`.
fn canonical_uri(path: &str) -> String {
    let decoded = decode(path);
    let mut uri = decoded.split(|&b| b == b'/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query: decoded pairs sorted by key then value, re-encoded.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(key, value)| format!("{}={}", encode(key), encode(value))).collect::<Vec<_>>().join("&")
}

/// Builds the canonical request. `None` when a signed header is missing or repeated.
pub fn canonical_request(request: &Signable<'_>, signed_headers: &[String]) -> Option<String> {
    let mut canonical =
        format!("{}\n{}\n{}\n", request.method.to_ascii_uppercase(), canonical_uri(request.path), canonical_query(request.query));
    for name in signed_headers {
        let mut values = request.headers.iter().filter(|(header, _)| header.eq_ignore_ascii_case(name));
        let (_, value) = values.next()?;
        if values.next().is_some() {
            return None;
        }
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value.trim());
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers.join(";"));
    canonical.push('\n');
    canonical.push_str(&hex(&Sha256::digest(request.body)));
    Some(canonical)
}

/// The string to sign for a canonical request signed at `date` (`YYYYMMDDTHHMMSSZ`).
pub fn string_to_sign(date: &str, canonical: &str) -> String {
    format!("{ALGORITHM}\n{date}\n{}", hex(&Sha256::digest(canonical.as_bytes())))
}

fn mac(secret: &str, string_to_sign: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    mac
}

/// The signature (lowercase hex) of a string to sign under `secret` (for clients and tests).
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    hex(&mac(secret, string_to_sign).finalize().into_bytes())
}

/// Whether `signature` (hex) is the HMAC of `string_to_sign` under `secret`, compared in
/// constant time.
pub fn verify(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    let Some(bytes) = unhex(signature) else { return false };
    mac(secret, string_to_sign).verify_slice(&bytes).is_ok()
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADERS: [(&str, &str); 5] = [
        ("Content-Type", "application/json"),
        ("User-Agent", "huaweicloud-usdk-python/3.0"),
        ("X-Sdk-Date", "20261102T080000Z"),
        ("X-Domain-Id", "partner-domain-D1"),
        ("Host", "127.0.0.1:8443"),
    ];

    fn signature_of(method: &str, path: &str, query: &str, body: &[u8]) -> String {
        let signed: Vec<String> = "content-type;host;user-agent;x-domain-id;x-sdk-date".split(';').map(str::to_owned).collect();
        let request = Signable { method, path, query, headers: &HEADERS, body };
        let canonical = canonical_request(&request, &signed).unwrap();
        let to_sign = string_to_sign("20261102T080000Z", &canonical);
        let signature = sign("emu-secret-key-0001", &to_sign);
        assert!(verify("emu-secret-key-0001", &to_sign, &signature));
        assert!(!verify("emu-secret-key-0002", &to_sign, &signature));
        signature
    }

    #[test]
    fn vector_1_post_with_a_body() {
        let body = br#"{"customer_id": "C1", "amount": 100.50}"#;
        assert_eq!(
            signature_of("POST", "/v2/accounts/partner-accounts/adjust-amount", "", body),
            "bcca63ecfb94ed04ab62f1216968ca36b7f570d66fa9a8c4649418a6c99ac8ce"
        );
    }

    #[test]
    fn vector_2_get_with_an_encoded_query() {
        let query = "customer_id=C1&limit=10&order_id=%E8%AE%A2%E5%8D%95~1%2B2%20x&status=6";
        assert_eq!(
            signature_of("GET", "/v2/orders/customer-orders", query, b""),
            "cb15caee5242bbd4ff7764cbaa6bac6742396cd2ba461205d1f6beb377720163"
        );
    }

    #[test]
    fn query_order_and_encoding_do_not_change_the_canonical_form() {
        assert_eq!(canonical_query("b=2&a=%7E&a=1"), "a=1&a=~&b=2");
        assert_eq!(canonical_query("x=a+b"), "x=a%2Bb");
        assert_eq!(canonical_uri("/v2/a%20b"), "/v2/a%20b/");
    }

    #[test]
    fn authorization_header_parses_and_refuses_malformed_ones() {
        let sig = "a".repeat(64);
        let parsed = Authorization::parse(&format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature={sig}")).unwrap();
        assert_eq!(parsed.access, "AK1");
        assert_eq!(parsed.signed_headers, ["host", "x-sdk-date"]);
        for bad in [
            format!("AWS4-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=AK1, Signature={sig}"),
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=zz".to_owned(),
            format!("SDK-HMAC-SHA256 Access=AK1, Access=AK2, SignedHeaders=host, Signature={sig}"),
        ] {
            assert_eq!(Authorization::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_missing_or_repeated_signed_header_cannot_be_canonicalised() {
        let headers = [("Host", "h"), ("X-Sdk-Date", "d"), ("X-Sdk-Date", "e")];
        let request = Signable { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
        assert!(canonical_request(&request, &["host".to_owned()]).is_some());
        assert!(canonical_request(&request, &["x-sdk-date".to_owned()]).is_none());
        assert!(canonical_request(&request, &["user-agent".to_owned()]).is_none());
    }
}

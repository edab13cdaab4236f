//! Token URIs: only `ipfs://<CIDv1 raw sha2-256>` is accepted, and the CID
//! gives the sha256 the package bytes must have.

use cid::Cid;

/// Longer token URIs are refused before parsing (ours are 66 bytes).
pub const MAX_URI_BYTES: usize = 128;
const RAW_CODEC: u64 = 0x55;
const SHA2_256: u64 = 0x12;

/// Why a token URI cannot name a Familiar package.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UriError {
    #[error("the token URI is {0} bytes long (at most {MAX_URI_BYTES}): refusing it")]
    TooLong(usize),
    #[error("the token URI {0:?} is not an ipfs:// address: only content-addressed packages can be verified")]
    Scheme(String),
    #[error("the token URI's content ID {0:?} is not valid: {1}")]
    BadCid(String, String),
    #[error("the token URI's content ID {0} is not a raw sha2-256 CIDv1, the form a Familiar package has")]
    NotRawSha256(String),
}

/// The CID string and the sha256 digest named by an `ipfs://` token URI.
pub fn parse_token_uri(uri: &str) -> Result<(String, [u8; 32]), UriError> {
    if uri.len() > MAX_URI_BYTES {
        return Err(UriError::TooLong(uri.len()));
    }
    let Some(rest) = uri.strip_prefix("ipfs://") else {
        return Err(UriError::Scheme(uri.chars().take(40).collect()));
    };
    digest_of_cid(rest)
}

/// The sha256 digest named by a raw sha2-256 CIDv1.
pub fn digest_of_cid(text: &str) -> Result<(String, [u8; 32]), UriError> {
    let cid = Cid::try_from(text).map_err(|e| UriError::BadCid(text.chars().take(80).collect(), e.to_string()))?;
    let hash = cid.hash();
    let digest: Option<[u8; 32]> = hash.digest().try_into().ok();
    match digest {
        Some(digest) if cid.version() == cid::Version::V1 && cid.codec() == RAW_CODEC && hash.code() == SHA2_256 => {
            Ok((cid.to_string(), digest))
        }
        _ => Err(UriError::NotRawSha256(text.to_owned())),
    }
}

/// The CIDv1 (raw, sha2-256, base32) of a sha256 digest.
pub fn cid_of_digest(digest: &[u8; 32]) -> String {
    match cid::multihash::Multihash::<64>::wrap(SHA2_256, digest) {
        Ok(mh) => Cid::new_v1(RAW_CODEC, mh).to_string(),
        // A 32-byte digest always fits a 64-byte multihash.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: [u8; 32] = [7; 32];

    #[test]
    fn an_ipfs_uri_gives_back_the_digest_it_was_made_from() {
        let uri = format!("ipfs://{}", cid_of_digest(&HASH));
        assert_eq!(uri.len(), 66);
        assert_eq!(parse_token_uri(&uri).unwrap().1, HASH);
    }

    #[test]
    fn other_schemes_and_oversized_uris_are_refused() {
        assert!(matches!(parse_token_uri("file:///etc/passwd"), Err(UriError::Scheme(_))));
        assert!(matches!(parse_token_uri("http://example.com/agent.zip"), Err(UriError::Scheme(_))));
        assert!(matches!(parse_token_uri("data:application/json,{}"), Err(UriError::Scheme(_))));
        let long = format!("ipfs://{}", "b".repeat(500));
        assert_eq!(parse_token_uri(&long), Err(UriError::TooLong(507)));
        assert!(matches!(parse_token_uri("ipfs://not-a-cid"), Err(UriError::BadCid(..))));
        // A CIDv0 (dag-pb) names a UnixFS tree, not the package bytes.
        assert!(matches!(
            parse_token_uri("ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
            Err(UriError::NotRawSha256(_))
        ));
    }
}

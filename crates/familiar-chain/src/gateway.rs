//! Packages over HTTP in the shape of the IPFS trustless gateway
//! (`GET /ipfs/{cid}` answered with the raw bytes), and pinning through a
//! Kubo RPC endpoint. No server is trusted: bytes count only if their sha256
//! is the one the CID (and the chain) names.

use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::uri::{cid_of_digest, digest_of_cid};

/// Packages larger than this are refused while downloading.
pub const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no gateway is configured: add one (e.g. another Familiar's `familiar serve` address)")]
    NoGateway,
    #[error("no gateway returned package {cid}: {reasons}")]
    NotFound { cid: String, reasons: String },
    #[error("{0}")]
    Cid(#[from] crate::uri::UriError),
    #[error("pinning through {0} failed: {1}")]
    Pin(String, String),
}

/// Why one gateway's answer was not taken.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("unreachable ({0})")]
    Unreachable(String),
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("announces {0} bytes, more than a package may have")]
    Announced(u64),
    #[error("sent more bytes than a package may have")]
    TooLarge,
    #[error("interrupted ({0})")]
    Interrupted(String),
    #[error("sent bytes whose sha256 is {0} (tampered or wrong content): ignored")]
    WrongHash(String),
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(timeout)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Fetches the bytes named by `cid` from the first gateway that returns bytes
/// with that sha256. Each gateway's failure is named in the error.
pub async fn fetch(
    gateways: &[String],
    cid: &str,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, GatewayError> {
    let (cid, digest) = digest_of_cid(cid)?;
    if gateways.is_empty() {
        return Err(GatewayError::NoGateway);
    }
    let client = client(Duration::from_secs(60));
    let mut reasons = Vec::new();
    for gateway in gateways {
        let url = format!("{}/ipfs/{cid}?format=raw", gateway.trim_end_matches('/'));
        match fetch_one(&client, &url, &digest, &mut progress).await {
            Ok(bytes) => return Ok(bytes),
            Err(reason) => reasons.push(format!("{gateway}: {reason}")),
        }
    }
    Err(GatewayError::NotFound { cid, reasons: reasons.join("; ") })
}

async fn fetch_one(
    client: &reqwest::Client,
    url: &str,
    digest: &[u8; 32],
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, Refusal> {
    let response = client
        .get(url)
        .header("Accept", "application/vnd.ipld.raw")
        .send()
        .await
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(Refusal::Status(response.status()));
    }
    let total = response.content_length();
    if let Some(total) = total.filter(|&t| t > MAX_PACKAGE_BYTES) {
        return Err(Refusal::Announced(total));
    }
    let mut bytes = Vec::new();
    let mut hasher = Sha256::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Refusal::Interrupted(e.to_string()))?;
        if bytes.len() as u64 + chunk.len() as u64 > MAX_PACKAGE_BYTES {
            return Err(Refusal::TooLarge);
        }
        hasher.update(&chunk);
        bytes.extend_from_slice(&chunk);
        progress(bytes.len() as u64, total);
    }
    let got: [u8; 32] = hasher.finalize().into();
    if &got != digest {
        return Err(Refusal::WrongHash(hex::encode(got)));
    }
    Ok(bytes)
}

/// Adds and pins the bytes on a Kubo node through its RPC API
/// (`POST /api/v0/add?cid-version=1&raw-leaves=true&pin=true`) and checks
/// that the node names them by the same CID.
pub async fn pin(kubo_api: &str, bytes: &[u8]) -> Result<String, GatewayError> {
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    let expected = cid_of_digest(&digest);
    let fail = |why: String| GatewayError::Pin(kubo_api.to_owned(), why);
    let boundary = format!("familiar-{}", &expected[expected.len() - 16..]);
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"package.zip\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let url = format!("{}/api/v0/add?cid-version=1&raw-leaves=true&pin=true", kubo_api.trim_end_matches('/'));
    let response = client(Duration::from_secs(300))
        .post(url)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .map_err(|e| fail(format!("unreachable ({e})")))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let text = response.text().await.map_err(|e| fail(e.to_string()))?;
    let answer: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .map_err(|e| fail(format!("unreadable answer: {e}")))?;
    let cid = answer["Hash"].as_str().unwrap_or_default();
    if cid != expected {
        return Err(fail(format!(
            "it named the package {cid:?}, not {expected} (packages over 256 KiB are chunked by Kubo; serve them with `familiar serve`)"
        )));
    }
    Ok(expected)
}

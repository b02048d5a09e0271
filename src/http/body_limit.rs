//! The 64 KiB cap on request bodies: 413 with Nhost's error JSON, decided before the body is
//! read.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Body as _;

use super::error::{ErrorCode, error_response};

/// Request bodies above this are refused with 413: the largest legitimate body (a
/// registration with attestation certificates) is a few KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How much of a refused body is still taken off the connection, and for how long (below).
const DRAIN_BYTES: usize = 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// 413 for a body declared (`Content-Length`) larger than `BODY_LIMIT`, before a byte of it
/// is used. A body sent without a length is cut off at the limit by the extractors
/// (`extract::Body`), with the same answer.
pub async fn refuse_large_bodies(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT as u64 => {
            tokio::spawn(discard(req.into_body()));
            error_response(ErrorCode::BodyTooLarge)
        }
        _ => next.run(req).await,
    }
}

/// Reads and drops what a client is still sending after its body was refused, up to
/// `DRAIN_BYTES` within `DRAIN_TIME`: a socket closed with unread data is reset, and a client
/// still writing would then see the reset instead of the 413. Nothing read is kept.
async fn discard(mut body: Body) {
    let mut left = DRAIN_BYTES;
    let read = async {
        while left > 0 {
            let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx));
            match next.await {
                Some(Ok(frame)) => {
                    let len = frame.data_ref().map_or(0, |data| data.len());
                    left = left.saturating_sub(len.max(1));
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, read).await;
}

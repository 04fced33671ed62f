//! Uploads (`…/chat/upload/0`, both sides), the stored files at
//! `GET /media/{key}`, and the original's default avatars.

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use app::api::chat::Uploaded;

use super::{post_only, Args};
use crate::auth::{CustomerAuth, SalesAuth};
use crate::error::{ok, ApiError, ApiResult, Error};
use crate::service::media::{self, Key, Kind, Media, MAX_VIDEO_BYTES, SNIFF_BYTES};
use crate::AppState;

/// Room for the multipart framing and small fields around the largest file.
const UPLOAD_BODY_LIMIT: usize = MAX_VIDEO_BYTES + 64 * 1024;

/// True for the upload paths, whose bodies `edge` leaves to the handler
/// (every other API body is read whole, at most 64 KiB, before routing).
pub fn is_upload_path(path: &str) -> bool {
    path.starts_with("/zhugeleida/gongzhonghao/chat/upload/")
        || path.starts_with("/zhugeleida/qiyeweixin/chat/upload/")
}

pub fn upload_routes(t: &mut crate::rest::Routes) {
    // More specific than `…/chat/{oper}/{o_id}`, so these win the match.
    t.route(
        "/gongzhonghao/chat/upload/{o_id}",
        post_only(customer_upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
    )
    .route(
        "/qiyeweixin/chat/upload/{o_id}",
        post_only(sales_upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
    );
}

/// `GET /media/{key}` and the default avatars, outside the signed API.
pub fn routes(t: &mut crate::rest::Routes) {
    t.route("/media/{key}", get(serve))
        .route("/statics/imgs/{file}", get(default_avatar));
}

const UPLOAD_MSG: &str = "上传成功";

async fn customer_upload(
    State(st): State<AppState>,
    CustomerAuth(_): CustomerAuth,
    Args(o_id): Args<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Uploaded> {
    upload(&st, &o_id, mp).await
}

async fn sales_upload(
    State(st): State<AppState>,
    SalesAuth(_): SalesAuth,
    Args(o_id): Args<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Uploaded> {
    upload(&st, &o_id, mp).await
}

fn missing_file() -> Error {
    Error::field("file", "请选择要上传的文件", "required")
}

/// A body that is not well-formed `multipart/form-data` (a NUL or a broken
/// header, a truncated part).
fn malformed() -> Error {
    Error::field("file", "上传内容格式错误", "invalid")
}

async fn upload(
    st: &AppState,
    o_id: &str,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Uploaded> {
    crate::extract::parse_id(o_id).ok_or_else(Error::bad_request)?;
    let mut mp = mp.map_err(|_| missing_file())?;
    let bytes = loop {
        match mp.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                break read_capped(&st.media, field).await?;
            }
            // Other fields are skipped (read and dropped, within the body limit).
            Ok(Some(_)) => continue,
            Ok(None) => return Err(missing_file().into()),
            Err(_) => return Err(malformed().into()),
        }
    };
    let data = st.media.store(bytes).await.map_err(ApiError::from)?;
    ok(UPLOAD_MSG, data)
}

/// The `file` field's bytes, reading no more than its type allows: the type
/// is known from the first bytes, and reading stops as soon as the limit is
/// passed, so an oversized file is never buffered whole.
async fn read_capped(
    media: &Media,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<axum::body::Bytes, ApiError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut kind: Option<Kind> = None;
    let refuse = |read: usize, e: Error| -> ApiError {
        media.note_refused(read);
        tracing::info!(bytes_read = read, error = %e, "upload refused");
        e.into()
    };
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(_) => return Err(refuse(buf.len(), malformed())),
        };
        buf.extend_from_slice(&chunk);
        if kind.is_none() && buf.len() >= SNIFF_BYTES {
            kind = Some(Kind::sniff(&buf).ok_or_else(|| refuse(buf.len(), media::unsupported()))?);
        }
        if let Some(k) = kind {
            if buf.len() > k.limit() {
                return Err(refuse(buf.len(), media::too_large(k)));
            }
        }
    }
    if buf.is_empty() {
        return Err(missing_file().into());
    }
    Ok(buf.into())
}

/// A `Range: bytes=…` header against an object of `size` bytes: `Ok(None)`
/// for the whole object (no header, several ranges, or one that is not
/// understood, which RFC 9110 lets a server ignore), `Err(())` when no byte
/// of it exists.
fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    match (a.trim().is_empty(), b.trim().is_empty()) {
        // `bytes=-n`: the last n bytes.
        (true, false) => match num(b) {
            Some(0) => Err(()),
            Some(n) if size > 0 => Ok(Some(size.saturating_sub(n)..size)),
            Some(_) => Err(()),
            None => Ok(None),
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return Ok(None);
            };
            let end = if b.trim().is_empty() {
                size
            } else {
                match num(b) {
                    Some(last) if last >= start => last.saturating_add(1).min(size),
                    _ => return Ok(None),
                }
            };
            if start >= size {
                Err(())
            } else {
                Ok(Some(start..end))
            }
        }
        (true, true) => Ok(None),
    }
}

fn media_headers(kind: Kind) -> [(header::HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(kind.content_type()),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    ]
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// `GET /media/{key}`: the object, streamed from the store (a range of it
/// for a `Range` request, so that video seeks), never read whole into memory.
async fn serve(
    State(st): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(key) = Key::parse(&key) else {
        return not_found();
    };
    let size = match st.media.size(&key).await {
        Ok(Some(size)) => size,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let (status, range) = match parse_range(&headers, size) {
        Ok(None) => (StatusCode::OK, 0..size),
        Ok(Some(r)) => (StatusCode::PARTIAL_CONTENT, r),
        Err(()) => {
            let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
    };
    let len = range.end - range.start;
    let body = if len == 0 {
        Body::empty()
    } else {
        match st.media.read(&key, range.clone()).await {
            Ok(Some(stream)) => Body::from_stream(stream),
            Ok(None) => return not_found(),
            Err(e) => return unavailable(e),
        }
    };
    let mut res = (status, media_headers(key.kind), body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if status == StatusCode::PARTIAL_CONTENT {
        let cr = format!("bytes {}-{}/{size}", range.start, range.end - 1);
        if let Ok(v) = HeaderValue::from_str(&cr) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    res
}

fn unavailable(e: Error) -> Response {
    tracing::warn!(error = %e, "media store unavailable");
    (StatusCode::SERVICE_UNAVAILABLE, "media store unavailable").into_response()
}

/// The original's default avatars (a rep's `setAvator.jpg`, a customer's
/// `Avator.jpg`), which stored rows still name; built into the binary. They
/// are PNG files (made without an image tool at hand) and say so in
/// `Content-Type`; browsers go by that, not by the name.
async fn default_avatar(Path(file): Path<String>) -> Response {
    let bytes: &'static [u8] = match file.as_str() {
        "setAvator.jpg" => include_bytes!("../../assets/setAvator.png"),
        "Avator.jpg" => include_bytes!("../../assets/Avator.png"),
        _ => return not_found(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(h: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
        let mut m = HeaderMap::new();
        m.insert(header::RANGE, HeaderValue::from_str(h).unwrap());
        parse_range(&m, size)
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(&HeaderMap::new(), 10), Ok(None));
        assert_eq!(range("bytes=0-3", 10), Ok(Some(0..4)));
        assert_eq!(range("bytes=5-", 10), Ok(Some(5..10)));
        assert_eq!(range("bytes=5-100", 10), Ok(Some(5..10)));
        assert_eq!(range("bytes=-3", 10), Ok(Some(7..10)));
        assert_eq!(range("bytes=-30", 10), Ok(Some(0..10)));
        assert_eq!(range("bytes=10-", 10), Err(()));
        assert_eq!(range("bytes=10-20", 10), Err(()));
        assert_eq!(range("bytes=-0", 10), Err(()));
        assert_eq!(range("bytes=0-0", 0), Err(()));
        assert_eq!(range("bytes=3-1", 10), Ok(None));
        assert_eq!(range("bytes=0-1,4-5", 10), Ok(None));
        assert_eq!(range("items=0-1", 10), Ok(None));
        assert_eq!(range("bytes=x-1", 10), Ok(None));
        assert_eq!(range("bytes=18446744073709551615-", 10), Err(()));
        assert_eq!(range("bytes=0-18446744073709551615", 10), Ok(Some(0..10)));
    }
}

//! Uploaded photos and videos (issue 15): what is accepted, where it is kept
//! and how it is read back.
//!
//! The type is decided by the first bytes, never by the file name or the
//! declared type: JPEG, PNG, GIF and WebP up to 10 MB, MP4 up to 50 MB.
//! Anything else (SVG and HTML above all, which a browser would run as
//! script on this origin) is refused before anything is stored.
//!
//! Objects live in an `object_store`: a local directory by default, or an
//! S3-compatible bucket (`RADAR_MEDIA_URL=s3://bucket/prefix`) that several
//! instances share. A key is 128 random bits in hex plus the type's
//! extension, so a URL cannot be guessed and [`Key::parse`] admits nothing
//! that could name another path.

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use app::api::chat::Uploaded;
use axum::body::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use rand::RngCore;

use crate::error::Error;

pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_VIDEO_BYTES: usize = 50 * 1024 * 1024;
/// Bytes [`Kind::sniff`] needs to decide.
pub const SNIFF_BYTES: usize = 12;

/// An accepted media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp4,
}

/// MP4 major brands (ISO base media files that are MP4 video). HEIC, AVIF
/// and QuickTime share the `ftyp` box and are refused.
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
    b"mmp4", b"dash", b"MSNV",
];

impl Kind {
    const ALL: [Kind; 5] = [Kind::Jpeg, Kind::Png, Kind::Gif, Kind::Webp, Kind::Mp4];

    /// The type of a file from its first [`SNIFF_BYTES`] bytes.
    pub fn sniff(head: &[u8]) -> Option<Kind> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(Kind::Gif)
        } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
            Some(Kind::Webp)
        } else if head.len() >= 12
            && &head[4..8] == b"ftyp"
            && MP4_BRANDS.iter().any(|b| &head[8..12] == *b)
        {
            Some(Kind::Mp4)
        } else {
            None
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Mp4 => "mp4",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Mp4 => "video/mp4",
        }
    }

    pub fn limit(self) -> usize {
        match self {
            Kind::Mp4 => MAX_VIDEO_BYTES,
            _ => MAX_IMAGE_BYTES,
        }
    }

    /// The message type a file of this kind is sent as.
    pub fn info_type(self) -> i64 {
        match self {
            Kind::Mp4 => 5,
            _ => 4,
        }
    }
}

/// A stored object's name: 32 lowercase hex digits, a dot, the extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    name: String,
    pub kind: Kind,
}

impl Key {
    fn new(kind: Kind) -> Key {
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        Key {
            name: format!("{}.{}", app::sign::hex(&b), kind.ext()),
            kind,
        }
    }

    /// The key named by a URL segment, or `None` for anything that is not
    /// exactly a key this module makes.
    pub fn parse(s: &str) -> Option<Key> {
        let (stem, ext) = s.split_once('.')?;
        let hex = stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let kind = Kind::ALL.into_iter().find(|k| k.ext() == ext)?;
        hex.then(|| Key {
            name: s.to_owned(),
            kind,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> String {
        format!("/media/{}", self.name)
    }
}

/// Where media live, from `RADAR_MEDIA_URL` / `RADAR_MEDIA_DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// `url` (`s3://bucket/prefix`) wins; else `dir`; else `media/` next to
    /// the SQLite file, or in the working directory for PostgreSQL and an
    /// in-memory SQLite.
    pub fn resolve(
        url: Option<&str>,
        dir: Option<&FsPath>,
        database_url: &str,
    ) -> Result<Location, String> {
        if let Some(url) = url {
            let rest = url.strip_prefix("s3://").ok_or_else(|| {
                format!("RADAR_MEDIA_URL must be s3://bucket[/prefix], not {url}")
            })?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("RADAR_MEDIA_URL names no bucket: {url}"));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some(dir) = dir {
            return Ok(Location::Dir(dir.to_owned()));
        }
        let sqlite_file = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .map(|p| p.split('?').next().unwrap_or(""))
            .filter(|p| !p.is_empty() && !p.starts_with(":memory:"));
        Ok(Location::Dir(match sqlite_file {
            Some(f) => FsPath::new(f)
                .parent()
                .unwrap_or(FsPath::new(""))
                .join("media"),
            None => PathBuf::from("media"),
        }))
    }
}

/// The media store of this instance.
#[derive(Clone)]
pub struct Media {
    store: Arc<dyn ObjectStore>,
    pub location: Location,
    /// Body bytes the last refused upload read before it was refused, so
    /// operators (and tests) can see an oversized upload was cut short.
    refused_read: Arc<AtomicU64>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("location", &self.location)
            .finish()
    }
}

impl Media {
    /// Opens the store; a local directory is created when missing. S3
    /// credentials, region and endpoint come from the `AWS_*` variables
    /// (`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for a local server).
    /// `s3_options` (`object_store` keys such as `aws_endpoint`) apply over
    /// the variables; tests point a server at their own S3 with them.
    pub fn open(location: Location, s3_options: &[(String, String)]) -> Result<Media, String> {
        let store: Arc<dyn ObjectStore> = match &location {
            Location::Dir(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("media directory {}: {e}", dir.display()))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| format!("media directory {}: {e}", dir.display()))?,
                )
            }
            Location::S3 { bucket, prefix } => {
                let mut b = object_store::aws::AmazonS3Builder::from_env();
                for (k, v) in s3_options {
                    let key = k
                        .parse::<object_store::aws::AmazonS3ConfigKey>()
                        .map_err(|e| format!("media S3 option {k}: {e}"))?;
                    b = b.with_config(key, v);
                }
                let s3 = b
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| format!("RADAR_MEDIA_URL: {e}"))?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        Path::from(prefix.as_str()),
                    ))
                }
            }
        };
        Ok(Media {
            store,
            location,
            refused_read: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn note_refused(&self, bytes_read: usize) {
        self.refused_read
            .store(bytes_read as u64, Ordering::Relaxed);
    }

    pub fn last_refused_read(&self) -> u64 {
        self.refused_read.load(Ordering::Relaxed)
    }

    /// Checks and stores one upload (at most [`Kind::limit`] bytes; the REST
    /// adapter stops reading there).
    pub async fn store(&self, bytes: Bytes) -> Result<Uploaded, Error> {
        let kind = Kind::sniff(&bytes).ok_or_else(unsupported)?;
        if bytes.len() > kind.limit() {
            return Err(too_large(kind));
        }
        let (width, height) = match kind {
            Kind::Mp4 => (None, None),
            // The header must parse: a file that only starts like an image is refused.
            _ => {
                let dim = imagesize::blob_size(&bytes).map_err(|_| unsupported())?;
                (Some(dim.width as i64), Some(dim.height as i64))
            }
        };
        let key = Key::new(kind);
        let size = bytes.len() as i64;
        self.store
            .put(&Path::from(key.as_str()), PutPayload::from(bytes))
            .await
            .map_err(|e| Error::Internal(format!("media store: {e}")))?;
        tracing::info!(key = key.as_str(), size, kind = kind.ext(), "media stored");
        Ok(Uploaded {
            url: key.url(),
            info_type: kind.info_type(),
            size,
            width,
            height,
        })
    }

    /// The size of a stored object, `None` when there is none.
    pub async fn size(&self, key: &Key) -> Result<Option<u64>, Error> {
        match self.store.head(&Path::from(key.as_str())).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::Internal(format!("media store: {e}"))),
        }
    }

    /// A stream of `range` of a stored object, read as it is sent.
    pub async fn read(
        &self,
        key: &Key,
        range: Range<u64>,
    ) -> Result<Option<BoxStream<'static, std::io::Result<Bytes>>>, Error> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        match self.store.get_opts(&Path::from(key.as_str()), opts).await {
            Ok(r) => Ok(Some(
                r.into_stream()
                    .map(|chunk| chunk.map_err(std::io::Error::other))
                    .boxed(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::Internal(format!("media store: {e}"))),
        }
    }

    /// Every stored key (the tests check what a refusal left behind).
    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        let mut list = self.store.list(None);
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(|e| Error::Internal(format!("media store: {e}")))?;
            out.push(meta.location.to_string());
        }
        Ok(out)
    }
}

pub const UNSUPPORTED: &str = "只能上传JPEG、PNG、GIF、WebP图片或MP4视频";

pub fn unsupported() -> Error {
    Error::field("file", UNSUPPORTED, "invalid")
}

pub fn too_large(kind: Kind) -> Error {
    let msg = match kind {
        Kind::Mp4 => "视频不能超过50MB",
        _ => "图片不能超过10MB",
    };
    Error::field("file", msg, "max_length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_bytes() {
        assert_eq!(
            Kind::sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01"),
            Some(Kind::Jpeg)
        );
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0d"), Some(Kind::Png));
        assert_eq!(Kind::sniff(b"GIF89a\x01\0\x01\0\0\0"), Some(Kind::Gif));
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WEBP"), Some(Kind::Webp));
        assert_eq!(Kind::sniff(b"\0\0\0\x18ftypmp42"), Some(Kind::Mp4));
        assert_eq!(Kind::sniff(b"\0\0\0\x18ftypheic"), None);
        assert_eq!(Kind::sniff(b"<svg xmlns="), None);
        assert_eq!(Kind::sniff(b"<!DOCTYPE html>"), None);
        assert_eq!(Kind::sniff(b""), None);
        assert_eq!(Kind::sniff(b"RIFF"), None);
    }

    #[test]
    fn keys_admit_nothing_else() {
        let k = Key::new(Kind::Png);
        assert_eq!(Key::parse(k.as_str()), Some(k.clone()));
        assert_eq!(k.as_str().len(), 36);
        for bad in [
            "../etc/passwd",
            "..%2f..%2fetc",
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef.svg",
            "0123456789ABCDEF0123456789abcdef.png",
            "0123456789abcdef0123456789abcde.png",
            "0123456789abcdef0123456789abcdef.png.html",
            "0123456789abcdef0123456789abcdef/.png",
            "",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn locations() {
        let r = |u: Option<&str>, d: Option<&str>, db: &str| {
            Location::resolve(u, d.map(FsPath::new), db)
        };
        assert_eq!(
            r(None, None, "sqlite:///var/lib/radar/radar.db?mode=rwc"),
            Ok(Location::Dir("/var/lib/radar/media".into()))
        );
        assert_eq!(
            r(None, None, "sqlite://radar.db?mode=rwc"),
            Ok(Location::Dir("media".into()))
        );
        assert_eq!(
            r(None, None, "postgres://db/radar"),
            Ok(Location::Dir("media".into()))
        );
        assert_eq!(
            r(None, Some("/srv/m"), "sqlite://x.db"),
            Ok(Location::Dir("/srv/m".into()))
        );
        assert_eq!(
            r(Some("s3://b/p/q/"), Some("/srv/m"), "sqlite://x.db"),
            Ok(Location::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            })
        );
        assert!(r(Some("s3:///p"), None, "x").is_err());
        assert!(r(Some("gs://b"), None, "x").is_err());
    }
}

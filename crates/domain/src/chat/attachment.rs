//! Uploaded files: what is accepted, and what is known about a stored one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::ids::AttachmentId;
use crate::error::ValidationError;
use crate::user::UserId;

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Id.
    pub id: AttachmentId,
    /// Who uploaded it; only they may attach it to a message.
    pub owner: UserId,
    /// The file name as uploaded (sanitised).
    pub filename: String,
    /// Its media type, checked against its first bytes.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

/// An upload to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// Uploader.
    pub owner: UserId,
    /// Sanitised file name.
    pub filename: String,
    /// Accepted media type.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// What kind of file an accepted upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentKind {
    /// PNG, JPEG, GIF or WebP.
    Image,
    /// PDF or an office document.
    Document,
}

/// Media types accepted, with the signature their content must start with.
const ACCEPTED: &[(&str, AttachmentKind, &[&[u8]])] = &[
    ("image/png", AttachmentKind::Image, &[b"\x89PNG\r\n\x1a\n"]),
    ("image/jpeg", AttachmentKind::Image, &[b"\xff\xd8\xff"]),
    ("image/gif", AttachmentKind::Image, &[b"GIF87a", b"GIF89a"]),
    ("image/webp", AttachmentKind::Image, &[b"RIFF"]),
    ("application/pdf", AttachmentKind::Document, &[b"%PDF-"]),
    // Legacy Office formats are OLE compound files.
    (
        "application/msword",
        AttachmentKind::Document,
        &[b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"],
    ),
    (
        "application/vnd.ms-excel",
        AttachmentKind::Document,
        &[b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"],
    ),
    (
        "application/vnd.ms-powerpoint",
        AttachmentKind::Document,
        &[b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"],
    ),
    // OOXML and OpenDocument are ZIP archives.
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        AttachmentKind::Document,
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        AttachmentKind::Document,
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        AttachmentKind::Document,
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.oasis.opendocument.text",
        AttachmentKind::Document,
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.oasis.opendocument.spreadsheet",
        AttachmentKind::Document,
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.oasis.opendocument.presentation",
        AttachmentKind::Document,
        &[b"PK\x03\x04"],
    ),
];

/// Accepts an upload of `declared` media type when it is an image or a PDF/office document
/// whose bytes match the type, within `max_bytes`. The declared type's parameters are ignored.
pub fn accept(
    declared: &str,
    bytes: &[u8],
    max_bytes: usize,
) -> Result<(String, AttachmentKind), ValidationError> {
    if bytes.is_empty() {
        return Err(ValidationError::new("file", "the file is empty"));
    }
    if bytes.len() > max_bytes {
        return Err(ValidationError::new(
            "file",
            format!("the file exceeds the limit of {max_bytes} bytes"),
        ));
    }
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((media, kind, signatures)) = ACCEPTED.iter().find(|(media, _, _)| *media == essence)
    else {
        return Err(ValidationError::new(
            "file",
            format!(
                "files of type {essence:?} are not accepted; send an image (PNG, JPEG, GIF, WebP) or a PDF/office document"
            ),
        ));
    };
    let webp_ok = *media != "image/webp" || bytes.get(8..12) == Some(b"WEBP".as_slice());
    if !signatures.iter().any(|s| bytes.starts_with(s)) || !webp_ok {
        return Err(ValidationError::new(
            "file",
            format!("the content is not a {media} file"),
        ));
    }
    Ok(((*media).to_owned(), *kind))
}

/// The kind of a stored media type.
pub fn kind_of(content_type: &str) -> AttachmentKind {
    if content_type.starts_with("image/") {
        AttachmentKind::Image
    } else {
        AttachmentKind::Document
    }
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path
/// component, without control characters or quotes, at most 200 characters.
pub fn sanitize_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(200)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_documents_whose_bytes_match_are_accepted() {
        assert_eq!(
            accept("image/png", b"\x89PNG\r\n\x1a\nrest", 100).unwrap(),
            ("image/png".into(), AttachmentKind::Image)
        );
        assert_eq!(
            accept("IMAGE/JPEG; q=1", b"\xff\xd8\xffrest", 100)
                .unwrap()
                .0,
            "image/jpeg"
        );
        assert_eq!(
            accept("application/pdf", b"%PDF-1.7", 100).unwrap().1,
            AttachmentKind::Document
        );
        assert!(accept("image/webp", b"RIFF\0\0\0\0WEBPVP8", 100).is_ok());
        assert!(
            accept(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                b"PK\x03\x04x",
                100
            )
            .is_ok()
        );
    }

    #[test]
    fn other_types_mismatched_bytes_empty_and_oversized_files_are_refused() {
        assert!(accept("text/html", b"<html>", 100).is_err());
        assert!(accept("application/x-msdownload", b"MZ", 100).is_err());
        assert!(
            accept("image/png", b"<script>", 100).is_err(),
            "a declared type must match the bytes"
        );
        assert!(accept("image/webp", b"RIFF\0\0\0\0WAVEfmt ", 100).is_err());
        assert!(accept("image/png", b"", 100).is_err());
        assert!(accept("application/pdf", &[b'%'; 101], 100).is_err());
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\a\\report.pdf"), "report.pdf");
        assert_eq!(sanitize_filename("a\"b;c\n.png"), "abc.png");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename(""), "file");
        assert_eq!(sanitize_filename(&"x".repeat(300)).len(), 200);
    }

    #[test]
    fn kinds_follow_the_media_type() {
        assert_eq!(kind_of("image/png"), AttachmentKind::Image);
        assert_eq!(kind_of("application/pdf"), AttachmentKind::Document);
    }
}

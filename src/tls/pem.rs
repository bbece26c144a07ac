//! Reading certificates, keys and CRLs from PEM (or DER) files.
//!
//! Every error names the one file at fault, so `hookgate check` and a failed
//! reload point at what to fix. Reads are bounded: a path that names a
//! device or a huge file is refused instead of being read into memory.

use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// Largest certificate, key or CRL file read (a CA bundle of a few hundred
/// certificates is well below it).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// A TLS file that cannot be used, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct TlsError {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// An error about `file`.
pub fn error(file: &Path, message: impl Into<String>) -> TlsError {
    TlsError {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Read a whole regular file, at most [`MAX_FILE_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    crate::files::read_bounded(path, MAX_FILE_BYTES).map_err(|e| error(path, e.to_string()))
}

/// Every certificate in a PEM file (at least one), each checked to parse as X.509.
pub fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| error(path, format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(error(path, "no certificate found"));
    }
    for (i, der) in certs.iter().enumerate() {
        // pingora parses upstream CAs again and panics on bad DER: check here.
        x509_parser::parse_x509_certificate(der)
            .map_err(|e| error(path, format!("certificate {} is unparseable: {e}", i + 1)))?;
    }
    Ok(certs)
}

/// The private key in a PEM file.
pub fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| error(path, format!("invalid PEM: {e}")))?
        .ok_or_else(|| error(path, "no private key found"))
}

/// Every CRL in a PEM file, or the one CRL of a DER file.
pub fn crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let raw = read(path)?;
    if !raw.starts_with(b"-----BEGIN") {
        return Ok(vec![CertificateRevocationListDer::from(raw)]);
    }
    let list: Vec<_> = rustls_pemfile::crls(&mut raw.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| error(path, format!("invalid PEM: {e}")))?;
    if list.is_empty() {
        return Err(error(path, "no CRL found"));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_not_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert_eq!(certs(&missing).unwrap_err().file, missing);
        let e = certs(dir.path()).unwrap_err();
        assert_eq!(
            (e.file.as_path(), e.message.as_str()),
            (dir.path(), "not a regular file")
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(
            certs(&empty).unwrap_err().to_string(),
            format!("{}: no certificate found", empty.display())
        );
        assert_eq!(key(&empty).unwrap_err().file, empty);
    }
}

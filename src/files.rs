//! Reading the files a config names (secrets, IP lists, certificates), bounded.
//!
//! A path in the config could name a device (`/dev/zero`), a FIFO or a huge
//! file by mistake; each would hang or exhaust memory at load. Only regular
//! files are read, and at most a fixed size.

use std::io::Read;
use std::path::Path;

/// Read at most `max` bytes of a regular file; larger files are refused.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    if !std::fs::metadata(path)?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(out)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, max)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_directories_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), 10)
                .unwrap_err()
                .to_string(),
            "not a regular file"
        );
        assert!(read_bounded(dir.path(), 10).is_err());
        let f = dir.path().join("f");
        std::fs::write(&f, "0123456789").unwrap();
        assert_eq!(read_bounded(&f, 10).unwrap().len(), 10);
        assert!(read_bounded(&f, 9).is_err());
    }
}

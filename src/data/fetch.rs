//! The named data sets `netc data fetch` downloads: the public mirrors that
//! publish each set's four gzipped IDX files, and the SHA-256 of each file's
//! decompressed bytes, compiled in. Mirrors recompress (the same content
//! comes in different gzip bytes), so the content is what is checked: the
//! checksums are those of the official files, whose published MD5s they
//! were confirmed against.

use super::error::DataError;
use super::source::DataFile;
use sha2::{Digest, Sha256};
use std::io;
use std::path::Path;

/// One file of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file's standard name, without `.gz`.
    pub name: &'static str,
    /// Bytes once decompressed.
    pub bytes: u64,
    /// SHA-256 of the decompressed bytes, in hex.
    pub sha256: &'static str,
}

impl RemoteFile {
    /// The most bytes a download of this file may take: its gzip is never
    /// larger than its content plus a little.
    pub fn max_download(&self) -> u64 {
        self.bytes + (1 << 20)
    }
}

/// A set of four IDX files and where they are published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteSet {
    /// The name a `.net` file gives the set (`mnist`, `fashion_mnist`).
    pub name: &'static str,
    /// The folder netc looks for it in (`mnist`, `fashion-mnist`).
    pub folder: &'static str,
    /// Base URLs, tried in order: a file is `BASE` + `NAME.gz`.
    pub mirrors: &'static [&'static str],
    pub files: [RemoteFile; 4],
}

/// The sets netc can download.
pub const REMOTE_SETS: [RemoteSet; 2] = [
    RemoteSet {
        name: "mnist",
        folder: "mnist",
        // PyTorch's (torchvision) and TensorFlow's mirrors of LeCun's files.
        mirrors: &[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        files: [
            RemoteFile {
                name: "train-images-idx3-ubyte",
                bytes: 47_040_016,
                sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            },
            RemoteFile {
                name: "train-labels-idx1-ubyte",
                bytes: 60_008,
                sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            },
            RemoteFile {
                name: "t10k-images-idx3-ubyte",
                bytes: 7_840_016,
                sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            },
            RemoteFile {
                name: "t10k-labels-idx1-ubyte",
                bytes: 10_008,
                sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
        ],
    },
    RemoteSet {
        name: "fashion_mnist",
        folder: "fashion-mnist",
        // Keras's and torchvision's mirrors of Zalando's files.
        mirrors: &[
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ],
        files: [
            RemoteFile {
                name: "train-images-idx3-ubyte",
                bytes: 47_040_016,
                sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            },
            RemoteFile {
                name: "train-labels-idx1-ubyte",
                bytes: 60_008,
                sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            },
            RemoteFile {
                name: "t10k-images-idx3-ubyte",
                bytes: 7_840_016,
                sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            },
            RemoteFile {
                name: "t10k-labels-idx1-ubyte",
                bytes: 10_008,
                sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
        ],
    },
];

/// The set called `name` (`mnist`, `fashion_mnist`; its folder's name
/// `fashion-mnist` is accepted too).
pub fn remote_set(name: &str) -> Option<&'static RemoteSet> {
    REMOTE_SETS
        .iter()
        .find(|s| s.name == name || s.folder == name)
}

/// Checks that `path` (gzipped or not) holds exactly `file`'s content.
pub fn verify(path: &Path, file: &RemoteFile) -> Result<(), DataError> {
    let mut data = DataFile::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match data.reader().read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(data.read_error(e)),
        };
        total += n as u64;
        // More than the file holds: the hash cannot match, so stop here.
        if total > file.bytes {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let found = hex(&hasher.finalize());
    if total != file.bytes || found != file.sha256 {
        return Err(DataError::Checksum {
            path: path.to_path_buf(),
            expected: file.sha256.to_string(),
            expected_bytes: file.bytes,
            found: if total > file.bytes {
                "more bytes than that".to_string()
            } else {
                format!("{found} over {total} bytes")
            },
        });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// A made-up file of `content`, with its true checksum.
    fn file_of(content: &[u8]) -> RemoteFile {
        RemoteFile {
            name: "t",
            bytes: content.len() as u64,
            sha256: Box::leak(hex(&Sha256::digest(content)).into_boxed_str()),
        }
    }

    #[test]
    fn the_decompressed_content_is_what_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the content of an IDX file".repeat(100);
        let file = file_of(&content);
        // Any compression of the same content passes.
        for level in [1, 9] {
            let p = dir.path().join(format!("f{level}.gz"));
            let mut gz = GzEncoder::new(Vec::new(), Compression::new(level));
            gz.write_all(&content).unwrap();
            std::fs::write(&p, gz.finish().unwrap()).unwrap();
            verify(&p, &file).unwrap();
        }
        let changed = dir.path().join("changed");
        let mut other = content.clone();
        other[7] ^= 1;
        std::fs::write(&changed, &other).unwrap();
        let e = verify(&changed, &file).unwrap_err().to_string();
        assert!(e.contains("does not match netc's checksum"), "{e}");
        let longer = dir.path().join("longer");
        std::fs::write(&longer, [&content[..], b"x"].concat()).unwrap();
        let e = verify(&longer, &file).unwrap_err().to_string();
        assert!(e.contains("more bytes than that"), "{e}");
    }

    #[test]
    fn names_and_folders_find_their_sets() {
        assert_eq!(remote_set("mnist").unwrap().folder, "mnist");
        assert_eq!(remote_set("fashion_mnist").unwrap().folder, "fashion-mnist");
        assert_eq!(remote_set("fashion-mnist").unwrap().name, "fashion_mnist");
        assert!(remote_set("cifar10").is_none());
        for set in REMOTE_SETS {
            let names: Vec<_> = set.files.iter().map(|f| f.name).collect();
            assert_eq!(names, crate::data::IDX_NAMES);
        }
    }
}

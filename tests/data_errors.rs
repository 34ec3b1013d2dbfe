//! Every way a data file can be wrong gives one clear error naming the file
//! and what is wrong, never a panic or an unbounded allocation. Broken files
//! are made here, at run time, from the committed MNIST fixture.

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use netc::data::{DataError, DataSpec, Dataset, LabelKind, SearchDir, load};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];
const TRAIN_IMAGES: usize = 0;
const TRAIN_LABELS: usize = 1;

/// The decompressed bytes of one fixture file.
fn raw(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data/mnist");
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        let mut out = Vec::new();
        MultiGzDecoder::new(fs::File::open(gz).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        fs::read(dir.join(name)).unwrap()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// A temp folder holding the fixture's four files (uncompressed), with file
/// `which` replaced by `bytes`.
struct Broken {
    tmp: tempfile::TempDir,
}

impl Broken {
    fn new(which: usize, bytes: Vec<u8>) -> Broken {
        let tmp = tempfile::tempdir().unwrap();
        for (i, name) in NAMES.iter().enumerate() {
            let content = if i == which { bytes.clone() } else { raw(name) };
            fs::write(tmp.path().join(name), content).unwrap();
        }
        Broken { tmp }
    }

    /// The fixture as it is.
    fn intact() -> Broken {
        Broken::new(usize::MAX, Vec::new())
    }

    fn load(&self, features: usize, labels: LabelKind) -> String {
        let spec = DataSpec::Idx {
            dir: self.tmp.path().to_path_buf(),
        };
        message(load(&spec, features, labels, &[]), self.tmp.path())
    }

    fn load_mnist(&self) -> String {
        self.load(784, LabelKind::Classes(10))
    }
}

/// The error's text with the temp folder shown as `TMP`.
fn message(result: Result<Dataset, DataError>, tmp: &Path) -> String {
    match result {
        Ok(d) => panic!("expected an error, loaded {} samples", d.train.len()),
        Err(e) => e.to_string().replace(&tmp.display().to_string(), "TMP"),
    }
}

fn images_header(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    [be32(0x803), be32(count), be32(rows), be32(cols)].concat()
}

#[test]
fn wrong_magic_says_what_was_expected_and_what_was_found() {
    let labels = raw(NAMES[TRAIN_LABELS]);
    let b = Broken::new(TRAIN_IMAGES, labels);
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: wrong magic number 0x00000801 (unsigned-byte elements in 1 \
         dimension (a labels file)); expected 0x00000803 (unsigned-byte images, N x rows x cols)"
    );
    let b = Broken::new(TRAIN_LABELS, raw(NAMES[TRAIN_IMAGES]));
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: wrong magic number 0x00000803 (unsigned-byte elements in 3 \
         dimensions (an images file)); expected 0x00000801 (unsigned-byte labels, N)"
    );
    let b = Broken::new(TRAIN_IMAGES, b"PK\x03\x04 a zip file".to_vec());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: wrong magic number 0x504b0304 (not an IDX file); expected \
         0x00000803 (unsigned-byte images, N x rows x cols)"
    );
    let mut f32_images = raw(NAMES[TRAIN_IMAGES]);
    f32_images[2] = 0x0D;
    let b = Broken::new(TRAIN_IMAGES, f32_images);
    assert!(
        b.load_mnist()
            .contains("0x00000d03 (f32 elements in 3 dimensions)")
    );
}

#[test]
fn truncated_files_give_expected_and_actual_bytes() {
    let images = raw(NAMES[TRAIN_IMAGES]);
    assert_eq!(images.len(), 392_016);
    let b = Broken::new(TRAIN_IMAGES, images[..images.len() - 100].to_vec());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: truncated: expected 392016 bytes, found 391916"
    );
    // Valid gzip of a cut file: found out while decompressing.
    let b = Broken::new(TRAIN_IMAGES, gzip(&images[..images.len() - 100]));
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: truncated: expected 392016 bytes once decompressed, found 391916"
    );
    // Cut inside the header.
    let b = Broken::new(TRAIN_IMAGES, images[..10].to_vec());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: truncated: expected 16 bytes, found 10"
    );
    let b = Broken::new(TRAIN_LABELS, vec![0, 0]);
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: truncated: expected 4 bytes, found 2"
    );
}

#[test]
fn truncated_gzip_stream_is_reported() {
    let gz = gzip(&raw(NAMES[TRAIN_IMAGES]));
    let b = Broken::new(TRAIN_IMAGES, gz[..gz.len() / 2].to_vec());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: corrupt gzip data: the compressed stream ends early (is the \
         file truncated?)"
    );
}

#[test]
fn corrupt_gzip_is_reported() {
    let mut gz = gzip(&raw(NAMES[TRAIN_IMAGES]));
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let b = Broken::new(TRAIN_IMAGES, gz);
    let e = b.load_mnist();
    assert!(
        e.starts_with("TMP/train-images-idx3-ubyte: corrupt gzip data: "),
        "{e}"
    );
    // A bad CRC at the end (the data decompressed, but not as written).
    let mut gz = gzip(&raw(NAMES[TRAIN_LABELS]));
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    let b = Broken::new(TRAIN_LABELS, gz);
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: corrupt gzip data: the data does not match its checksum (the \
         file is damaged)"
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut images = raw(NAMES[TRAIN_IMAGES]);
    images.extend([7u8; 10]);
    let b = Broken::new(TRAIN_IMAGES, images.clone());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: 10 bytes follow the 392016 bytes its header describes"
    );
    let b = Broken::new(TRAIN_IMAGES, gzip(&images));
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: 10 bytes (decompressed) follow the 392016 bytes its header \
         describes"
    );
}

#[test]
fn empty_files_are_refused() {
    let b = Broken::new(TRAIN_LABELS, Vec::new());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: the file is empty"
    );
    let b = Broken::new(TRAIN_LABELS, gzip(b""));
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: truncated: expected 4 bytes once decompressed, found 0"
    );
    let b = Broken::new(TRAIN_LABELS, [be32(0x801), be32(0)].concat());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: the file holds no labels"
    );
    let b = Broken::new(TRAIN_IMAGES, images_header(0, 28, 28));
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: the file holds no pixels (a zero in its dimensions)"
    );
}

#[test]
fn absurd_headers_are_refused_before_allocating() {
    // Claims 2^96 bytes: over the limit whatever the file's length.
    let b = Broken::new(TRAIN_IMAGES, images_header(u32::MAX, u32::MAX, u32::MAX));
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: its images would need 79228162458924105385300197375 bytes: \
         more than netc's limit of 17179869184 bytes per file; the header is probably wrong"
    );
    // Claims 1.6 GB in a tiny gzip file: impossible for deflate.
    let mut bomb = images_header(2_000_000, 28, 28);
    bomb.extend([0u8; 1000]);
    let gz = gzip(&bomb);
    let len = gz.len();
    let b = Broken::new(TRAIN_IMAGES, gz);
    assert_eq!(
        b.load_mnist(),
        format!(
            "TMP/train-images-idx3-ubyte: its images would need 1568000000 bytes: a gzip file of \
             {len} bytes holds at most {}; the file is truncated or its header is wrong",
            len * 1032 + 1024
        )
    );
    // Uncompressed, a claim is checked against the file's length.
    let mut big = images_header(60_000, 28, 28);
    big.extend([0u8; 100]);
    let b = Broken::new(TRAIN_IMAGES, big);
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte: truncated: expected 47040016 bytes, found 116"
    );
    // Labels too.
    let b = Broken::new(TRAIN_LABELS, [be32(0x801), be32(u32::MAX)].concat());
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: truncated: expected 4294967303 bytes, found 8"
    );
}

#[test]
fn wrong_dimensions_name_both_widths() {
    let b = Broken::intact();
    assert_eq!(
        b.load(100, LabelKind::Classes(10)),
        "TMP/train-images-idx3-ubyte: samples are 28x28 = 784 features, but the net's input has 100"
    );
    // Test images of another width, or another shape, than the training images.
    let mut small = images_header(100, 7, 7);
    small.extend(&raw(NAMES[2])[16..16 + 100 * 49]);
    let b = Broken::new(2, small);
    assert_eq!(
        b.load_mnist(),
        "TMP/t10k-images-idx3-ubyte: samples are 7x7 = 49 features, but the net's input has 784"
    );
    let mut other = images_header(100, 14, 56);
    other.extend(&raw(NAMES[2])[16..]);
    let b = Broken::new(2, other);
    assert_eq!(
        b.load_mnist(),
        "TMP/t10k-images-idx3-ubyte: images are 14x56, but the training images in \
         TMP/train-images-idx3-ubyte are 28x28"
    );
}

#[test]
fn image_and_label_counts_must_match() {
    let labels = raw(NAMES[TRAIN_LABELS]);
    let mut fewer = [be32(0x801), be32(499)].concat();
    fewer.extend(&labels[8..8 + 499]);
    let b = Broken::new(TRAIN_LABELS, fewer);
    assert_eq!(
        b.load_mnist(),
        "TMP/train-images-idx3-ubyte holds 500 images but TMP/train-labels-idx1-ubyte holds 499 labels"
    );
}

#[test]
fn labels_out_of_range_name_the_item() {
    let b = Broken::intact();
    assert_eq!(
        b.load(784, LabelKind::Classes(5)),
        "TMP/train-labels-idx1-ubyte: label 5 at item 0 (byte offset 8) is out of range for 5 \
         classes (0..=4)"
    );
    let mut labels = raw(NAMES[TRAIN_LABELS]);
    labels[8 + 42] = 200;
    let b = Broken::new(TRAIN_LABELS, labels);
    assert_eq!(
        b.load_mnist(),
        "TMP/train-labels-idx1-ubyte: label 200 at item 42 (byte offset 50) is out of range for 10 \
         classes (0..=9)"
    );
}

#[test]
fn class_sets_refuse_regression_nets() {
    let b = Broken::intact();
    assert_eq!(
        b.load(784, LabelKind::Targets(1)),
        "TMP/train-labels-idx1-ubyte: the data has class labels, but the net's label is regression \
         targets of width 1"
    );
    let e = load(
        &DataSpec::Digits { test_fraction: 0.2 },
        64,
        LabelKind::Targets(10),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "digits (embedded): the data has class labels 0..9, but the net's label is regression \
         targets of width 10"
    );
}

#[test]
fn missing_set_lists_every_place_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let partial = tmp.path().join("partial");
    fs::create_dir_all(partial.join("mnist")).unwrap();
    fs::write(partial.join("mnist/train-images-idx3-ubyte.gz"), b"x").unwrap();
    let file = tmp.path().join("file");
    fs::create_dir_all(&file).unwrap();
    fs::write(file.join("mnist"), b"x").unwrap();
    let dirs = [
        SearchDir {
            dir: Some(tmp.path().join("nowhere")),
            origin: "--data-dir",
        },
        SearchDir {
            dir: None,
            origin: "$NETC_DATA",
        },
        SearchDir {
            dir: Some(partial),
            origin: "./data",
        },
        SearchDir {
            dir: Some(file),
            origin: "system data sets",
        },
    ];
    let e = message(
        load(&DataSpec::Mnist, 784, LabelKind::Classes(10), &dirs),
        tmp.path(),
    );
    assert_eq!(
        e,
        "data set `mnist` not found; looked in:\n  \
         TMP/nowhere/mnist: no such folder (--data-dir)\n  \
         $NETC_DATA: not set\n  \
         TMP/partial/mnist: missing train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], \
         t10k-labels-idx1-ubyte[.gz] (./data)\n  \
         TMP/file/mnist: not a folder (system data sets)"
    );
}

#[test]
fn idx_dir_with_missing_files() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join(NAMES[0]), raw(NAMES[0])).unwrap();
    fs::write(tmp.path().join(NAMES[1]), raw(NAMES[1])).unwrap();
    let spec = DataSpec::Idx {
        dir: tmp.path().to_path_buf(),
    };
    assert_eq!(
        message(load(&spec, 784, LabelKind::Classes(10), &[]), tmp.path()),
        "TMP: missing t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; expected the four \
         standard IDX files (gzipped or not)"
    );
}

fn csv(text: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("d.csv");
    fs::write(&path, text).unwrap();
    (tmp, path)
}

fn load_csv(
    path: &Path,
    header: bool,
    features: usize,
    labels: LabelKind,
) -> Result<Dataset, DataError> {
    let spec = DataSpec::Csv {
        path: path.to_path_buf(),
        test: None,
        test_fraction: 0.5,
        header,
    };
    load(&spec, features, labels, &[])
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let k = LabelKind::Classes(3);
    let cases: [(&str, bool, &str); 7] = [
        (
            "1,2,0\n3,four,1\n",
            false,
            "TMP/d.csv:2: column 2: `four` is not a number",
        ),
        (
            "1,2,0\n3,4\n",
            false,
            "TMP/d.csv:2: 2 columns, expected 3 (as on line 1)",
        ),
        (
            "h1,h2,y\n1,2,0,9\n",
            true,
            "TMP/d.csv:2: 4 columns, expected 3 (the net's input has 2 features, plus 1 label column)",
        ),
        (
            "1,2,7\n",
            false,
            "TMP/d.csv: label 7 at line 1, column 3 is out of range for 3 classes (0..=2)",
        ),
        ("", false, "TMP/d.csv: the file is empty"),
        ("a,b,c\n", true, "TMP/d.csv: the CSV file has no data rows"),
        (
            "1,2,0\n",
            false,
            "TMP/d.csv: holding out test_fraction 0.5 of 1 rows leaves no training or no test rows (the fraction must be between 0 and 1, both excluded, and there must be at least 2 rows)",
        ),
    ];
    for (text, header, expected) in cases {
        let (tmp, path) = csv(text);
        assert_eq!(
            message(load_csv(&path, header, 2, k), tmp.path()),
            expected,
            "{text:?}"
        );
    }
    let (tmp, path) = csv("1,nan,0\n");
    assert_eq!(
        message(load_csv(&path, false, 2, k), tmp.path()),
        "TMP/d.csv:1: column 2: `nan` is not a finite number"
    );
}

#[test]
fn csv_single_huge_line_is_refused_early() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("d.csv");
    fs::write(&path, "1,".repeat(5_000_000)).unwrap();
    assert_eq!(
        message(
            load_csv(&path, false, 784, LabelKind::Classes(10)),
            tmp.path()
        ),
        "TMP/d.csv:1: line is longer than 51264 bytes, too long for 785 columns"
    );
}

#[test]
fn csv_missing_file_and_missing_test_file() {
    let tmp = tempfile::tempdir().unwrap();
    let e = message(
        load_csv(
            &tmp.path().join("nope.csv"),
            false,
            2,
            LabelKind::Classes(2),
        ),
        tmp.path(),
    );
    assert!(e.starts_with("TMP/nope.csv: cannot read: "), "{e}");
    let (tmp, path) = csv("1,2,0\n");
    let spec = DataSpec::Csv {
        path,
        test: Some(tmp.path().join("test.csv")),
        test_fraction: 0.2,
        header: false,
    };
    let e = message(load(&spec, 2, LabelKind::Classes(2), &[]), tmp.path());
    assert!(e.starts_with("TMP/test.csv: cannot read: "), "{e}");
}

#[test]
fn csv_gzip_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("d.csv.gz");
    let gz = gzip("1,2,0\n".repeat(1000).as_bytes());
    fs::write(&path, &gz[..gz.len() - 12]).unwrap();
    let e = message(load_csv(&path, false, 2, LabelKind::Classes(2)), tmp.path());
    assert!(e.starts_with("TMP/d.csv.gz: corrupt gzip data: "), "{e}");
}

#[test]
fn digits_settings_are_checked() {
    let err = |spec: DataSpec, features, labels| {
        load(&spec, features, labels, &[]).unwrap_err().to_string()
    };
    let digits = |f| DataSpec::Digits { test_fraction: f };
    assert_eq!(
        err(digits(0.2), 784, LabelKind::Classes(10)),
        "digits (embedded): samples are 8x8 = 64 features, but the net's input has 784"
    );
    assert_eq!(
        err(digits(0.2), 64, LabelKind::Classes(9)),
        "digits (embedded): label 9 at line 10, column 65 is out of range for 9 classes (0..=8)"
    );
    for f in [0.0, 1.0, -0.5, f64::NAN] {
        assert_eq!(
            err(digits(f), 64, LabelKind::Classes(10)),
            format!("digits: test_fraction must be between 0 and 1 (both excluded), got {f}")
        );
    }
}

#[test]
fn synthetic_settings_are_checked() {
    let spec = |samples, test_samples, target| DataSpec::Synthetic {
        samples,
        test_samples,
        target,
        seed: 0,
    };
    let err = |s: DataSpec, f, l| load(&s, f, l, &[]).unwrap_err().to_string();
    assert_eq!(
        err(spec(10, 10, Some(2)), 4, LabelKind::Classes(2)),
        "synthetic: target class 2 is out of range for 2 classes (0..=1)"
    );
    assert_eq!(
        err(spec(0, 10, None), 4, LabelKind::Classes(2)),
        "synthetic: needs at least one sample in each split, got samples 0, test_samples 10"
    );
    assert_eq!(
        err(spec(1_000_000_000, 1, None), 10_000, LabelKind::Classes(2)),
        "synthetic: 1000000000 + 1 samples of 10000 features would need 40004000040004 bytes: more \
         than netc's limit of 17179869184 bytes of data"
    );
}

#[test]
fn a_header_read_as_data_says_header_true() {
    let (tmp, path) = csv("a,b,label\n1,2,0\n3,4,1\n");
    assert_eq!(
        message(load_csv(&path, false, 2, LabelKind::Classes(3)), tmp.path()),
        "TMP/d.csv:1: column 1: `a` is not a number (if the first line is a header, read the \
         file with `header: true` in `csv(...)`)"
    );
    assert!(load_csv(&path, true, 2, LabelKind::Classes(3)).is_ok());
}

/// `--data-dir D/mnist` where D/mnist holds the files: netc looks in
/// D/mnist/mnist, and says to name D instead.
#[test]
fn a_data_dir_that_is_the_set_itself_says_to_name_its_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("mnist");
    fs::create_dir_all(&set).unwrap();
    for name in NAMES {
        fs::write(set.join(name), raw(name)).unwrap();
    }
    let dirs = [SearchDir {
        dir: Some(set.clone()),
        origin: "--data-dir",
    }];
    let e = message(
        load(&DataSpec::Mnist, 784, LabelKind::Classes(10), &dirs),
        tmp.path(),
    );
    assert!(
        e.contains(
            "TMP/mnist/mnist: no such folder, but TMP/mnist itself holds the four files: name its \
             parent, TMP (--data-dir)"
        ),
        "{e}"
    );
}

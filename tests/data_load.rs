//! Loading every kind of data source, as the training loop sees it.

mod common;

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use netc::data::{DataSpec, Dataset, LabelKind, Labels, SearchDir, load, shuffled_indices};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MNIST_TRAIN_FIRST: [u32; 10] = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4];
const MNIST_TEST_FIRST: [u32; 10] = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

/// The decompressed bytes of a fixture file.
fn raw(name: &str) -> Vec<u8> {
    let dir = fixtures().join("mnist");
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
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn classes(n: usize) -> LabelKind {
    LabelKind::Classes(n)
}

fn idx(dir: &Path) -> DataSpec {
    DataSpec::Idx {
        dir: dir.to_path_buf(),
    }
}

/// A place to look for named sets.
fn place(dir: &Path) -> SearchDir {
    SearchDir {
        dir: Some(dir.to_path_buf()),
        origin: "test",
    }
}

fn mnist_fixture() -> Dataset {
    load(&DataSpec::Mnist, 784, classes(10), &[place(&fixtures())]).unwrap()
}

fn counts(labels: &[u32], n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

#[test]
fn mnist_fixture_round_trips() {
    let d = mnist_fixture();
    assert_eq!(d.name, "mnist");
    assert_eq!((d.features, d.dims.clone()), (784, vec![28, 28]));
    assert_eq!((d.train.len(), d.test.len()), (500, 100));
    assert_eq!(&d.train.classes().unwrap()[..10], MNIST_TRAIN_FIRST);
    assert_eq!(&d.test.classes().unwrap()[..10], MNIST_TEST_FIRST);
    // The stored bytes are the file's bytes after its 16-byte header.
    let images = raw(NAMES[0]);
    assert_eq!(d.train.bytes().unwrap().0, &images[16..]);
    // A gathered batch is those bytes / 255, in index order, with its labels.
    let mut x = vec![0.0f32; 2 * 784];
    let mut y = [0u32; 2];
    d.train.gather(&[3, 0], &mut x, &mut y).unwrap();
    assert_eq!(y, [1, 5]);
    for (k, &row) in [3usize, 0].iter().enumerate() {
        for j in 0..784 {
            let b = images[16 + row * 784 + j];
            assert_eq!(x[k * 784 + j], b as f32 / 255.0);
        }
    }
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(x.contains(&1.0));
}

#[test]
fn idx_dir_source_reads_the_same_set() {
    let by_name = mnist_fixture();
    let mut by_dir = load(&idx(&fixtures().join("mnist")), 784, classes(10), &[]).unwrap();
    assert_eq!(by_dir.name, "mnist");
    by_dir.name = by_name.name.clone();
    assert_eq!(by_dir, by_name);
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let tmp = tempfile::tempdir().unwrap();
    // Swap the forms: gzipped bytes under plain names, plain bytes under `.gz` names.
    for name in NAMES {
        let plain = raw(name);
        let gz_name = fixtures().join("mnist").join(format!("{name}.gz"));
        if gz_name.exists() {
            fs::write(tmp.path().join(name), gzip(&plain)).unwrap();
        } else {
            fs::write(tmp.path().join(format!("{name}.gz")), &plain).unwrap();
        }
    }
    let d = load(&idx(tmp.path()), 784, classes(10), &[]).unwrap();
    let mut expected = mnist_fixture();
    expected.name = d.name.clone();
    assert_eq!(d, expected);
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    for name in NAMES {
        let plain = raw(name);
        let (a, b) = plain.split_at(plain.len() / 3);
        let mut both = gzip(a);
        both.extend(gzip(b));
        fs::write(tmp.path().join(name), both).unwrap();
    }
    let d = load(&idx(tmp.path()), 784, classes(10), &[]).unwrap();
    assert_eq!(d.train.bytes().unwrap().0, &raw(NAMES[0])[16..]);
}

#[test]
fn a_named_set_comes_from_the_first_place_that_holds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // b/mnist: the fixture; a/mnist: the fixture with its test labels shifted.
    for (dir, shift) in [(&a, 1u8), (&b, 0)] {
        fs::create_dir_all(dir.join("mnist")).unwrap();
        for name in NAMES {
            let mut bytes = raw(name);
            if name == NAMES[3] {
                bytes[8] = (bytes[8] + shift) % 10;
            }
            fs::write(dir.join("mnist").join(name), bytes).unwrap();
        }
    }
    let first_test_label = |dirs: &[SearchDir]| {
        let d = load(&DataSpec::Mnist, 784, classes(10), dirs).unwrap();
        d.test.classes().unwrap()[0]
    };
    // The places are looked in the order given.
    assert_eq!(first_test_label(&[place(&a), place(&b)]), 8);
    assert_eq!(first_test_label(&[place(&b), place(&a)]), 7);
    // A place without the set, or one not configured, is passed over.
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let unset = SearchDir {
        dir: None,
        origin: "unset",
    };
    assert_eq!(first_test_label(&[unset, place(&empty), place(&b)]), 7);
}

#[test]
fn digits_are_embedded_and_split_deterministically() {
    let spec = DataSpec::Digits { test_fraction: 0.2 };
    let d = load(&spec, 64, classes(10), &[]).unwrap();
    assert_eq!(d.name, "digits");
    assert_eq!((d.features, d.dims.clone()), (64, vec![8, 8]));
    assert_eq!((d.train.len(), d.test.len()), (1438, 359));
    let mut all: Vec<u32> = d.train.classes().unwrap().to_vec();
    all.extend(d.test.classes().unwrap());
    assert_eq!(all.len(), netc::data::DIGITS_SAMPLES);
    assert_eq!(
        counts(&all, 10),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    // Pixels are the counts 0..=16 scaled by 1/16.
    let (bytes, scale) = d.train.bytes().unwrap();
    assert_eq!(scale, 1.0 / 16.0);
    assert!(bytes.iter().all(|&b| b <= 16));
    assert!(bytes.contains(&16));
    // The same split every time, whatever else happened in between.
    let again = load(&spec, 64, classes(10), &[]).unwrap();
    assert_eq!(again, d);
    // Another fraction holds out another number.
    let half = load(
        &DataSpec::Digits { test_fraction: 0.5 },
        64,
        classes(10),
        &[],
    )
    .unwrap();
    assert_eq!((half.train.len(), half.test.len()), (898, 899));
}

#[test]
fn digits_first_row_matches_the_csv() {
    // Row 0 of the file is a 0; the split keeps file order, so the first
    // sample of whichever split holds row 0 is it.
    let d = load(
        &DataSpec::Digits { test_fraction: 0.2 },
        64,
        classes(10),
        &[],
    )
    .unwrap();
    let first = [0u8, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0];
    let hit = [&d.train, &d.test]
        .iter()
        .any(|s| s.bytes().unwrap().0[..16] == first && s.classes().unwrap()[0] == 0);
    assert!(hit);
}

#[test]
fn synthetic_is_seeded() {
    let spec = |seed, target| DataSpec::Synthetic {
        samples: 40,
        test_samples: 10,
        target,
        seed,
    };
    let a = load(&spec(0, Some(1)), 128, classes(2), &[]).unwrap();
    assert_eq!((a.train.len(), a.test.len(), a.features), (40, 10, 128));
    assert!(a.train.classes().unwrap().iter().all(|&c| c == 1));
    let mut x = vec![0.0f32; 40 * 128];
    let mut y = vec![0u32; 40];
    a.train
        .gather(&(0..40).collect::<Vec<_>>(), &mut x, &mut y)
        .unwrap();
    assert!(x.iter().all(|v| (0.0..1.0).contains(v)));
    let mean = x.iter().sum::<f32>() / x.len() as f32;
    assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
    assert_eq!(load(&spec(0, Some(1)), 128, classes(2), &[]).unwrap(), a);
    assert_ne!(load(&spec(1, Some(1)), 128, classes(2), &[]).unwrap(), a);
    // Without a target, classes are drawn uniformly (all three appear).
    let u = load(&spec(0, None), 4, classes(3), &[]).unwrap();
    assert_eq!(
        counts(u.train.classes().unwrap(), 3)
            .iter()
            .filter(|&&c| c > 0)
            .count(),
        3
    );
    // Regression targets: every value the target, or uniform.
    let r = load(&spec(0, Some(2)), 4, LabelKind::Targets(3), &[]).unwrap();
    assert_eq!(
        r.train.labels(),
        &Labels::Targets {
            width: 3,
            values: vec![2.0; 120]
        }
    );
}

/// A two-feature CSV with a header line and its own test file, loaded.
fn load_csv_with_header(train: PathBuf, test: PathBuf) -> Dataset {
    let spec = DataSpec::Csv {
        path: train,
        test: Some(test),
        test_fraction: 0.2,
        header: true,
    };
    load(&spec, 2, classes(2), &[]).unwrap()
}

#[test]
fn csv_with_header_test_file_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let train = tmp.path().join("toy.csv");
    let test = tmp.path().join("toy-test.csv.gz");
    fs::write(&train, "a,b,label\n0.5,1,0\n2,3,1\n4,5,1\n").unwrap();
    fs::write(&test, gzip(b"x,y,l\r\n6,7,0\r\n")).unwrap();
    let d = load_csv_with_header(train, test);
    assert_eq!(d.name, "toy");
    assert_eq!(
        (d.train.len(), d.test.len(), d.dims.clone()),
        (3, 1, vec![2])
    );
    let mut x = [0.0f32; 4];
    let mut y = [0u32; 2];
    d.train.gather(&[2, 0], &mut x, &mut y).unwrap();
    assert_eq!((x, y), ([4.0, 5.0, 0.5, 1.0], [1, 0]));
    d.test.gather(&[0], &mut x[..2], &mut y[..1]).unwrap();
    assert_eq!((&x[..2], y[0]), (&[6.0, 7.0][..], 0));
}

/// A spreadsheet's export (Excel's "CSV UTF-8": a byte order mark, CRLF,
/// every cell quoted) as the train file, and pandas' `df.to_csv(index=False)`
/// gzipped as the test file, are read as their plain twins are.
#[test]
fn csv_from_spreadsheets_and_pandas() {
    let tmp = tempfile::tempdir().unwrap();
    let train = tmp.path().join("sheet.csv");
    let test = tmp.path().join("pandas.csv.gz");
    fs::write(
        &train,
        "\u{feff}\"width, cm\",\"height\",\"label\"\r\n\"0.5\",\"1\",\"0\"\r\n\"2\",\"3\",\"1\"\r\n",
    )
    .unwrap();
    fs::write(&test, gzip(b"width,height,label\n6.0,7.0,1\n")).unwrap();
    let d = load_csv_with_header(train, test);
    assert_eq!((d.train.len(), d.test.len()), (2, 1));
    let mut x = [0.0f32; 4];
    let mut y = [0u32; 2];
    d.train.gather(&[0, 1], &mut x, &mut y).unwrap();
    assert_eq!((x, y), ([0.5, 1.0, 2.0, 3.0], [0, 1]));
    d.test.gather(&[0], &mut x[..2], &mut y[..1]).unwrap();
    assert_eq!((&x[..2], y[0]), (&[6.0, 7.0][..], 1));
}

#[test]
fn csv_held_out_fraction_and_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("reg.csv");
    let rows: String = (0..10)
        .map(|i| format!("{i},{},{}\n", i * 2, i * 3))
        .collect();
    fs::write(&path, rows).unwrap();
    let spec = DataSpec::Csv {
        path,
        test: None,
        test_fraction: 0.3,
        header: false,
    };
    let d = load(&spec, 1, LabelKind::Targets(2), &[]).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (7, 3));
    // Every row is in exactly one split, its targets beside it.
    let mut seen = Vec::new();
    for s in [&d.train, &d.test] {
        let idx: Vec<usize> = (0..s.len()).collect();
        let mut x = vec![0.0f32; s.len()];
        let mut y = vec![0.0f32; 2 * s.len()];
        s.gather_targets(&idx, &mut x, &mut y).unwrap();
        for (k, &v) in x.iter().enumerate() {
            assert_eq!((y[2 * k], y[2 * k + 1]), (v * 2.0, v * 3.0));
            seen.push(v as usize);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    assert_eq!(load(&spec, 1, LabelKind::Targets(2), &[]).unwrap(), d);
}

#[test]
fn normalisation_uses_training_statistics() {
    let mut d = mnist_fixture();
    let stats = d.normalize().unwrap();
    assert!((stats.mean - 0.13).abs() < 0.02, "{stats:?}");
    assert!((stats.std - 0.31).abs() < 0.02, "{stats:?}");
    assert_eq!(d.test.normalization(), Some(stats));
    let idx: Vec<usize> = (0..d.train.len()).collect();
    let mut x = vec![0.0f32; idx.len() * 784];
    d.train.gather_inputs(&idx, &mut x).unwrap();
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / x.len() as f64;
    assert!(
        mean.abs() < 1e-4 && (var.sqrt() - 1.0).abs() < 1e-4,
        "{mean} {var}"
    );
}

#[test]
fn epoch_batches_cover_the_split_once() {
    let d = mnist_fixture();
    let mut rng = Pcg64Mcg::seed_from_u64(42);
    let mut order = Vec::new();
    let (mut x, mut y) = (vec![0.0f32; 64 * 784], vec![0u32; 64]);
    let mut labels = Vec::new();
    shuffled_indices(d.train.len(), &mut rng, &mut order);
    for batch in order.chunks(64) {
        let n = batch.len();
        d.train
            .gather(batch, &mut x[..n * 784], &mut y[..n])
            .unwrap();
        labels.extend_from_slice(&y[..n]);
    }
    let mut sorted = labels.clone();
    sorted.sort_unstable();
    let mut expected = d.train.classes().unwrap().to_vec();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    assert_ne!(labels, d.train.classes().unwrap());
}

/// The full MNIST from `../shared/data` beside the repository, when present.
#[test]
fn full_mnist_when_present() {
    let Some(mnist) = common::shared("data/mnist") else {
        return;
    };
    let data = mnist.parent().unwrap();
    let d = load(&DataSpec::Mnist, 784, classes(10), &[place(data)]).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (60000, 10000));
    assert_eq!(&d.train.classes().unwrap()[..10], MNIST_TRAIN_FIRST);
    assert_eq!(&d.test.classes().unwrap()[..10], MNIST_TEST_FIRST);
    assert_eq!(
        counts(d.train.classes().unwrap(), 10),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        counts(d.test.classes().unwrap(), 10),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let stats = d.train.input_stats();
    assert!((stats.mean - 0.1307).abs() < 1e-4 && (stats.std - 0.3081).abs() < 1e-4);
}

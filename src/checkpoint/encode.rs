//! Writing the safetensors format, with a deterministic header.
//!
//! `safetensors::serialize` writes `__metadata__` from a `HashMap` in its random
//! iteration order, so two saves of the same run would differ byte for byte.
//! This writer orders everything (metadata keys, then tensors by dtype and
//! name, as safetensors does), so the same weights give the same file.

use super::CheckpointError;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The same bound the safetensors reader enforces on the JSON header.
pub(crate) const MAX_HEADER_BYTES: usize = 100_000_000;

/// The values of one tensor to write, little-endian on disk.
#[derive(Clone, Copy, Debug)]
pub enum TensorData<'a> {
    /// Weights, optimizer state, gradients.
    F32(&'a [f32]),
    /// Counters and generator states.
    U64(&'a [u64]),
}

impl TensorData<'_> {
    /// The safetensors dtype name.
    pub fn dtype(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "F32",
            TensorData::U64(_) => "U64",
        }
    }
    fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::U64(v) => v.len(),
        }
    }
    fn elem_bytes(&self) -> usize {
        match self {
            TensorData::F32(_) => 4,
            TensorData::U64(_) => 8,
        }
    }
    fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            TensorData::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::U64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
}

/// A named tensor to write: `dims` is the shape recorded in the file.
#[derive(Clone, Debug)]
pub struct TensorEntry<'a> {
    pub name: String,
    pub dims: Vec<usize>,
    pub data: TensorData<'a>,
}

/// The bytes of a safetensors file holding `tensors` and `metadata`.
pub fn encode(
    tensors: &[TensorEntry<'_>],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CheckpointError> {
    let bad = |reason: String| CheckpointError::Encode { reason };
    let mut seen = BTreeSet::new();
    for t in tensors {
        if t.name == "__metadata__" || !seen.insert(t.name.as_str()) {
            return Err(bad(format!(
                "tensor name `{}` is reserved or repeated",
                t.name
            )));
        }
        let elems = t.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if elems != Some(t.data.len()) {
            return Err(bad(format!(
                "tensor `{}` has shape {:?} but {} values",
                t.name,
                t.dims,
                t.data.len()
            )));
        }
    }
    // Widest alignment first (U64 before F32) keeps every tensor aligned, as
    // safetensors' own writer does; then by name.
    let mut order: Vec<&TensorEntry> = tensors.iter().collect();
    order.sort_by(|a, b| (b.data.elem_bytes(), &a.name).cmp(&(a.data.elem_bytes(), &b.name)));

    let mut header = String::from("{");
    if !metadata.is_empty() {
        header.push_str("\"__metadata__\":{");
        for (i, (k, v)) in metadata.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            push_json_string(&mut header, k);
            header.push(':');
            push_json_string(&mut header, v);
        }
        header.push('}');
    }
    let mut offset = 0usize;
    for (i, t) in order.iter().enumerate() {
        if i > 0 || !metadata.is_empty() {
            header.push(',');
        }
        let bytes = t.data.len() * t.data.elem_bytes();
        push_json_string(&mut header, &t.name);
        let _ = write!(header, ":{{\"dtype\":\"{}\",\"shape\":[", t.data.dtype());
        for (j, d) in t.dims.iter().enumerate() {
            let _ = write!(header, "{}{d}", if j > 0 { "," } else { "" });
        }
        let _ = write!(header, "],\"data_offsets\":[{offset},{}]}}", offset + bytes);
        offset += bytes;
    }
    header.push('}');
    // Pads with spaces so the data starts 8-byte aligned, as the format advises.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    if header.len() > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "the header would be {} bytes, over the {MAX_HEADER_BYTES}-byte limit readers accept",
            header.len()
        )));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(8 + header.len() + offset)
        .map_err(|_| {
            bad(format!(
                "cannot allocate {} bytes",
                8 + header.len() + offset
            ))
        })?;
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for t in order {
        t.data.append_to(&mut out);
    }
    Ok(out)
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use safetensors::SafeTensors;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_header_is_exact_and_ordered() {
        let w = [1.0f32, 2.0];
        let step = [7u64];
        let tensors = [
            TensorEntry {
                name: "b".into(),
                dims: vec![2],
                data: TensorData::F32(&w),
            },
            TensorEntry {
                name: "a".into(),
                dims: vec![1, 2],
                data: TensorData::F32(&w),
            },
            TensorEntry {
                name: "z/step".into(),
                dims: vec![1],
                data: TensorData::U64(&step),
            },
        ];
        let bytes = encode(&tensors, &meta(&[("seed", "1"), ("epoch", "2")])).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap().trim_end();
        assert_eq!(
            header,
            r#"{"__metadata__":{"epoch":"2","seed":"1"},"z/step":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#
        );
        assert_eq!(bytes.len(), 8 + n + 24);
        assert_eq!(&bytes[8 + n..8 + n + 8], &7u64.to_le_bytes());
        assert_eq!(&bytes[8 + n + 8..8 + n + 12], &1.0f32.to_le_bytes());
    }

    #[test]
    fn no_tensors_and_no_metadata_is_a_valid_file() {
        let bytes = encode(&[], &BTreeMap::new()).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert!(st.is_empty());
    }

    #[test]
    fn bad_entries_are_refused() {
        let v = [0.0f32; 3];
        let entry = |name: &str, dims: Vec<usize>| TensorEntry {
            name: name.into(),
            dims,
            data: TensorData::F32(&v),
        };
        let e = encode(&[entry("w", vec![2, 2])], &BTreeMap::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot encode a safetensors file: tensor `w` has shape [2, 2] but 3 values"
        );
        let e = encode(
            &[entry("w", vec![3]), entry("w", vec![3])],
            &BTreeMap::new(),
        );
        assert!(e.unwrap_err().to_string().contains("repeated"));
        let e = encode(&[entry("__metadata__", vec![3])], &BTreeMap::new());
        assert!(e.unwrap_err().to_string().contains("reserved"));
        let e = encode(&[entry("w", vec![usize::MAX, 2])], &BTreeMap::new());
        assert!(e.unwrap_err().to_string().contains("but 3 values"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any strings survive our JSON escaping and safetensors' parser.
        #[test]
        fn metadata_and_names_round_trip(
            pairs in proptest::collection::btree_map(".*", ".*", 0..6),
            name in "[^\u{0}]{1,12}",
            values in proptest::collection::vec(any::<f32>(), 0..5),
        ) {
            prop_assume!(name != "__metadata__");
            let entry = TensorEntry { name: name.clone(), dims: vec![values.len()], data: TensorData::F32(&values) };
            let bytes = encode(&[entry], &pairs).unwrap();
            let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
            let got: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
            let st = SafeTensors::deserialize(&bytes).unwrap();
            prop_assert_eq!(got, pairs);
            let t = st.tensor(&name).unwrap();
            prop_assert_eq!(t.shape(), &[values.len()][..]);
            let back: Vec<u32> = t.data().chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
            let want: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(back, want);
        }
    }
}

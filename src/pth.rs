//! PyTorch `.pth` state dicts (pytorch-AdaIN's `vgg_normalised.pth` and `decoder.pth`) read
//! without PyTorch and without running anything they hold.
//!
//! A `.pth` file is a pickle, and a pickle is a program: it names Python callables (`GLOBAL`)
//! and calls them (`REDUCE`), which is how a booby-trapped checkpoint runs `os.system`. Nothing
//! here executes Python, but a file that names anything beyond what a state dict of tensors
//! needs is refused all the same, naming the callable: it is not a state dict, and the user
//! should know. So every pickle in the file is first walked opcode by opcode ([`check`]) and
//! its globals held to `ALLOWED`; the tensors are then read by `pytorch-reader` (the Burn
//! project's pure-Rust reader) from a private copy of the bytes that were checked.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::{Op, Tensor};

/// The callables a state dict of dense tensors names: the dict, torch's tensor rebuild
/// functions, and the storage types (as `torch.save` writes them at protocol 2, every PyTorch
/// version since 0.4).
const ALLOWED: &[(&str, &[&str])] = &[
    ("collections", &["OrderedDict"]),
    (
        "torch._utils",
        &[
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_parameter",
        ],
    ),
    (
        "torch",
        &[
            "FloatStorage",
            "DoubleStorage",
            "HalfStorage",
            "BFloat16Storage",
            "LongStorage",
            "IntStorage",
            "ShortStorage",
            "CharStorage",
            "ByteStorage",
            "BoolStorage",
        ],
    ),
];

/// The legacy container (PyTorch 0.1.10 to 1.5) opens with this number as a pickled LONG1.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

fn refuse(path: &Path, reason: impl Into<String>) -> Error {
    Error::Weights {
        path: path.into(),
        reason: format!("cannot read as a PyTorch state dict: {}", reason.into()),
    }
}

/// How an opcode's argument is laid out in the stream.
enum Arg {
    None,
    Fixed(usize),
    /// A length of this many little-endian bytes, then that many bytes.
    Counted(usize),
    /// One newline-terminated line (protocol 0 text).
    Line,
}

/// Walks one pickle from `at`, checking its globals; returns the offset after its STOP.
fn check_pickle(path: &Path, data: &[u8], mut at: usize) -> Result<usize> {
    let short = || refuse(path, "the pickle ends early (truncated file?)");
    let line = |at: usize| -> Result<(&[u8], usize)> {
        let end = data[at..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(short)?;
        Ok((&data[at..at + end], at + end + 1))
    };
    loop {
        let op = *data.get(at).ok_or_else(short)?;
        at += 1;
        let arg = match op {
            b'.' => return Ok(at),
            b'c' => {
                let (module, next) = line(at)?;
                let (name, next) = line(next)?;
                let (module, name) = (
                    String::from_utf8_lossy(module),
                    String::from_utf8_lossy(name),
                );
                let ok = ALLOWED
                    .iter()
                    .any(|(m, names)| *m == module && names.contains(&name.as_ref()));
                if !ok {
                    return Err(refuse(
                        path,
                        format!(
                            "it names the Python callable {module}.{name}, which no state dict \
                             of tensors needs (refused; nothing was run)"
                        ),
                    ));
                }
                at = next;
                continue;
            }
            // Other ways of naming or building arbitrary objects, which torch.save never writes.
            b'\x93' | b'i' | b'o' | b'\x82' | b'\x83' | b'\x84' => {
                let what = match op {
                    b'\x93' => "STACK_GLOBAL",
                    b'i' => "INST",
                    b'o' => "OBJ",
                    _ => "EXT",
                };
                return Err(refuse(
                    path,
                    format!(
                        "its pickle uses the {what} opcode, which torch.save never writes (refused; \
                         nothing was run)"
                    ),
                ));
            }
            b'(' | b'0' | b'1' | b'2' | b'N' | b'Q' | b'R' | b'a' | b'b' | b'd' | b'}' | b'e'
            | b'l' | b']' | b's' | b't' | b')' | b'u' | b'\x81' | b'\x85' | b'\x86' | b'\x87'
            | b'\x88' | b'\x89' | b'\x8f' | b'\x90' | b'\x91' | b'\x92' | b'\x94' | b'\x97'
            | b'\x98' => Arg::None,
            b'K' | b'h' | b'q' | b'\x80' => Arg::Fixed(1),
            b'M' => Arg::Fixed(2),
            b'J' | b'j' | b'r' => Arg::Fixed(4),
            b'G' | b'\x95' => Arg::Fixed(8),
            b'U' | b'C' | b'\x8c' | b'\x8a' => Arg::Counted(1),
            b'T' | b'X' | b'B' | b'\x8b' => Arg::Counted(4),
            b'\x8d' | b'\x8e' | b'\x96' => Arg::Counted(8),
            b'F' | b'I' | b'L' | b'P' | b'S' | b'V' | b'g' | b'p' => Arg::Line,
            other => {
                return Err(refuse(
                    path,
                    format!("unknown pickle opcode 0x{other:02x} at byte {}", at - 1),
                ));
            }
        };
        at = match arg {
            Arg::None => at,
            Arg::Fixed(n) => at
                .checked_add(n)
                .filter(|&e| e <= data.len())
                .ok_or_else(short)?,
            Arg::Counted(n) => {
                let len_bytes = data.get(at..at + n).ok_or_else(short)?;
                let mut len = 0u64;
                for (i, b) in len_bytes.iter().enumerate() {
                    len |= u64::from(*b) << (8 * i);
                }
                (at + n)
                    .checked_add(usize::try_from(len).map_err(|_| short())?)
                    .filter(|&e| e <= data.len())
                    .ok_or_else(short)?
            }
            Arg::Line => line(at)?.1,
        };
    }
}

/// Checks every pickle of a `.pth` file's bytes against `ALLOWED`: the ZIP container's
/// `data.pkl` (PyTorch 1.6 and later), or the legacy stream's five pickles (magic number,
/// protocol, system info, the object, the storage keys; the raw storages follow them).
pub fn check(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| refuse(path, format!("broken ZIP container: {e}")))?;
        // Every pickle in the archive, so the reader cannot be pointed at one not checked.
        let mut data_pkl = false;
        for i in 0..zip.len() {
            let entry = zip
                .by_index(i)
                .map_err(|e| refuse(path, format!("ZIP entry {i}: {e}")))?;
            let name = entry
                .name()
                .map_err(|e| refuse(path, format!("ZIP entry {i}: {e}")))?
                .to_string();
            if !name.ends_with(".pkl") {
                continue;
            }
            data_pkl |= name == "data.pkl" || name.ends_with("/data.pkl");
            // A deflated entry can claim any size: read at most what a state dict needs.
            const MAX: u64 = 100 << 20;
            let mut pkl = Vec::new();
            entry
                .take(MAX + 1)
                .read_to_end(&mut pkl)
                .map_err(|e| refuse(path, format!("{name}: {e}")))?;
            if pkl.len() as u64 > MAX {
                return Err(refuse(path, format!("{name} is over {MAX} bytes")));
            }
            check_pickle(path, &pkl, 0)?;
        }
        if !data_pkl {
            return Err(refuse(path, "its ZIP container holds no data.pkl"));
        }
        return Ok(());
    }
    if bytes.first() == Some(&0x80) {
        let legacy =
            bytes.get(2..4) == Some(&[0x8a, 0x0a]) && bytes.get(4..14) == Some(&LEGACY_MAGIC);
        let mut at = 0;
        for _ in 0..if legacy { 5 } else { 1 } {
            at = check_pickle(path, bytes, at)?;
        }
        return Ok(());
    }
    Err(refuse(
        path,
        "neither the ZIP container of PyTorch 1.6+ nor the legacy pickle stream",
    ))
}

/// A state dict read by [`read_state_dict`]: the tensors, and the sha256 of the file's bytes
/// (read once, for the provenance).
#[derive(Debug)]
pub struct StateDict {
    pub tensors: BTreeMap<String, Tensor>,
    pub sha256: String,
}

/// The tensors `ops` needs from the state dict in `path`, as float32 (float16, bfloat16 and
/// float64 converted as PyTorch's `.float()` does), after [`check`]. A missing key or a wrong
/// shape is an error naming it.
pub fn read_state_dict(path: &Path, ops: &[Op]) -> Result<StateDict> {
    let bytes = crate::fsutil::read_regular(path)?;
    let sha256 = crate::model::hex_sha256(&bytes);
    check(path, &bytes)?;
    // Parsed from a private copy of exactly the bytes checked, not the path again.
    let mut copy =
        tempfile::NamedTempFile::new().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    std::io::Write::write_all(&mut copy, &bytes).map_err(|e| Error::io(copy.path(), e))?;
    let reader =
        pytorch_reader::PytorchReader::new(copy.path()).map_err(|e| refuse(path, e.to_string()))?;
    let mut out = BTreeMap::new();
    for (key, shape) in crate::model::expected_shapes(ops) {
        let t = reader.get(&key).ok_or_else(|| Error::MissingWeight {
            path: path.into(),
            key: key.clone(),
        })?;
        if t.shape() != shape.as_slice() {
            return Err(Error::WeightShape {
                path: path.into(),
                key,
                expected: shape,
                got: t.shape().to_vec(),
            });
        }
        use pytorch_reader::DType;
        let raw = t
            .read()
            .map_err(|e| refuse(path, format!("tensor '{key}': {e}")))?;
        let data: Vec<f32> = match t.dtype() {
            DType::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F64 => raw
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            DType::F16 => raw
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => raw
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::Weights {
                    path: path.into(),
                    reason: format!(
                        "tensor '{key}': expected floating-point values, got {other:?}"
                    ),
                });
            }
        };
        if data.len() != shape.iter().product::<usize>() {
            return Err(refuse(
                path,
                format!("tensor '{key}': its storage is too short"),
            ));
        }
        out.insert(key, Tensor { shape, data });
    }
    Ok(StateDict {
        tensors: out,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> String {
        check(Path::new("x.pth"), bytes).unwrap_err().to_string()
    }

    #[test]
    fn a_pickle_naming_anything_but_a_state_dicts_callables_is_refused_by_name() {
        // os.system("touch /tmp/x") as pickle protocol 2: GLOBAL, a string, TUPLE1, REDUCE.
        let system =
            b"\x80\x02cposix\nsystem\nq\x00X\x0c\x00\x00\x00touch /tmp/xq\x01\x85q\x02Rq\x03.";
        let e = err(system);
        assert!(e.contains("x.pth") && e.contains("posix.system"), "{e}");
        // The same call reached through protocol 4's STACK_GLOBAL.
        let stack = b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93\x94.";
        assert!(err(stack).contains("STACK_GLOBAL"));
        // A state dict's own globals pass.
        let ok = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.";
        check(Path::new("x.pth"), ok).unwrap();
    }

    #[test]
    fn truncated_or_foreign_bytes_are_errors() {
        assert!(err(b"\x80\x02ccollections\nOrderedDict\n").contains("ends early"));
        assert!(err(b"\x80\x02X\xff\xff\xff\x7fab.").contains("ends early"));
        assert!(err(b"hello").contains("neither the ZIP"));
        assert!(err(b"PK\x03\x04 not really a zip").contains("ZIP"));
        assert!(err(b"\x80\x02\xfe.").contains("unknown pickle opcode 0xfe"));
    }
}

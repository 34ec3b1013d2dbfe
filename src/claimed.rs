//! Reading as many bytes as a header claims, without trusting the claim: a
//! header checked against nothing but a limit (a pipe's, a device's) may
//! claim gigabytes over a stream of a few bytes.

use std::io::{self, Read};

/// Why [`read_claimed`] stopped.
#[derive(Debug)]
pub(crate) enum ClaimedError {
    /// The memory for the bytes could not be reserved.
    Reserve,
    /// The reader failed.
    Io(io::Error),
}

/// Appends up to `n` bytes from `reader` to `buf` and returns how many came
/// (fewer only at the end of the stream). With `trusted` (the claim was
/// checked against the file's real length) the memory is reserved at once;
/// otherwise as the bytes arrive, in steps doubling from 64 KiB, so that a
/// false claim costs no more than twice the bytes that really came.
pub(crate) fn read_claimed<R: Read + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    n: u64,
    trusted: bool,
) -> Result<u64, ClaimedError> {
    let mut left = n;
    let mut step = if trusted { n } else { n.min(1 << 16) };
    while left > 0 {
        let want = step.min(left);
        let reserve = usize::try_from(want).map_err(|_| ClaimedError::Reserve)?;
        buf.try_reserve_exact(reserve)
            .map_err(|_| ClaimedError::Reserve)?;
        // `take` keeps `read_to_end` from growing the buffer past what was reserved.
        let got = Read::take(&mut *reader, want)
            .read_to_end(buf)
            .map_err(ClaimedError::Io)? as u64;
        left -= got;
        if got < want {
            break;
        }
        step = step.saturating_mul(2);
    }
    Ok(n - left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_false_claim_reserves_little_and_reports_what_came() {
        let mut buf = Vec::new();
        let got = read_claimed(&mut &[7u8; 100][..], &mut buf, 1 << 40, false).unwrap();
        assert_eq!(got, 100);
        assert_eq!(buf, [7u8; 100]);
        assert!(buf.capacity() <= 1 << 16, "{}", buf.capacity());
    }

    #[test]
    fn a_long_stream_is_read_to_the_claim_and_no_further() {
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        for trusted in [false, true] {
            let mut buf = vec![1, 2];
            let mut reader = &data[..];
            let got = read_claimed(&mut reader, &mut buf, 200_000, trusted).unwrap();
            assert_eq!(got, 200_000);
            assert_eq!(&buf[2..], &data[..200_000]);
            assert_eq!(reader.len(), 100_000);
            assert!(buf.capacity() <= 2 * 200_002, "{}", buf.capacity());
        }
    }
}

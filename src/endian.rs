//! Byte order of an object file and bounds-checked readers for its integers.
//!
//! Every codec takes the byte order from the file it reads (`bpfel` or `bpfeb`), never from
//! the host. Readers return `None` past the end of the slice so callers turn a short read into
//! an error with their own context.

/// Byte order of a BPF object, BTF blob or instruction stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian (`bpfel`), what x86-64 and arm64 kernels run.
    Little,
    /// Big-endian (`bpfeb`), what s390x kernels run.
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const fn native() -> Endian {
        if cfg!(target_endian = "little") {
            Endian::Little
        } else {
            Endian::Big
        }
    }

    /// Reads a `u16` at `off`, or `None` if it does not fit in `bytes`.
    #[inline]
    pub fn read_u16(self, bytes: &[u8], off: usize) -> Option<u16> {
        let b: [u8; 2] = bytes.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        })
    }

    /// Reads a `u32` at `off`, or `None` if it does not fit in `bytes`.
    #[inline]
    pub fn read_u32(self, bytes: &[u8], off: usize) -> Option<u32> {
        let b: [u8; 4] = bytes.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(self.u32_from(b))
    }

    /// Reads a `u64` at `off`, or `None` if it does not fit in `bytes`.
    #[inline]
    pub fn read_u64(self, bytes: &[u8], off: usize) -> Option<u64> {
        let b: [u8; 8] = bytes.get(off..off.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        })
    }

    /// Converts four bytes in this byte order to a `u32`.
    #[inline]
    pub fn u32_from(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Converts a `u16` to bytes in this byte order.
    #[inline]
    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Converts a `u32` to bytes in this byte order.
    #[inline]
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Converts a `u64` to bytes in this byte order.
    #[inline]
    pub fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_refuses_short_input() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(Endian::Little.read_u32(&b, 0), Some(0x0403_0201));
        assert_eq!(Endian::Big.read_u32(&b, 0), Some(0x0102_0304));
        assert_eq!(Endian::Big.read_u16(&b, 6), Some(0x0708));
        assert_eq!(Endian::Little.read_u64(&b, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(Endian::Little.read_u32(&b, 5), None);
        assert_eq!(Endian::Little.read_u32(&b, usize::MAX), None);
        assert_eq!(Endian::Big.u32_bytes(0x0102_0304), [1, 2, 3, 4]);
    }
}

//! Names the text form gives to kernel numbers: helpers (`bpf_map_lookup_elem` for 1, from
//! [`crate::abi::Helper`]) and map types (`hash` for 1, from [`crate::abi::MapType`]), and the
//! string escapes of quoted text.
//!
//! Cost: lookups by number index a table; lookups by name scan it (a few hundred entries).

/// The C name of helper `id` (`bpf_map_lookup_elem` for 1), if it is a known helper; the
/// text form prints `call bpf_map_lookup_elem`. The table is [`crate::abi::Helper`].
///
/// ```
/// assert_eq!(bpfir::ir::text::helper_name(1), Some("bpf_map_lookup_elem"));
/// assert_eq!(bpfir::ir::text::helper_name(0), None);
/// ```
pub fn helper_name(id: i32) -> Option<&'static str> {
    let id = u32::try_from(id).ok()?;
    crate::abi::Helper::from_id(id).map(crate::abi::Helper::name)
}

/// The lower-case name of map type `t` without `BPF_MAP_TYPE_` (`hash` for 1), from
/// [`crate::abi::MapType`]; `None` for a number the table does not know.
///
/// ```
/// assert_eq!(bpfir::ir::text::map_type_name(27).as_deref(), Some("ringbuf"));
/// assert_eq!(bpfir::ir::text::map_type_name(999), None);
/// ```
pub fn map_type_name(t: u32) -> Option<String> {
    let name = crate::abi::MapType(t).name()?;
    Some(
        name.strip_prefix("BPF_MAP_TYPE_")
            .unwrap_or(name)
            .to_ascii_lowercase(),
    )
}

/// The largest map type number [`map_type_id`] searches.
const MAX_MAP_TYPE: u32 = 256;

/// The id of the helper with C name `name` (`bpf_tail_call` for 12).
pub fn helper_id(name: &str) -> Option<i32> {
    let name = name.strip_prefix("bpf_")?;
    crate::abi::Helper::from_name(name).and_then(|h| i32::try_from(h.id()).ok())
}

/// The number of map type `name` (as [`map_type_name`] prints it).
pub fn map_type_id(name: &str) -> Option<u32> {
    (0..MAX_MAP_TYPE).find(|&t| map_type_name(t).is_some_and(|n| n == name))
}

/// Escapes bytes for printing between double quotes: `\"`, `\\`, `\n`, `\t`, printable
/// ASCII as is, every other byte as `\xNN`.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_and_map_type_names() {
        assert_eq!(helper_name(1), Some("bpf_map_lookup_elem"));
        assert_eq!(helper_name(12), Some("bpf_tail_call"));
        assert_eq!(helper_name(113), Some("bpf_probe_read_kernel"));
        assert_eq!(helper_name(211), Some("bpf_cgrp_storage_delete"));
        assert_eq!(helper_name(0), None);
        assert_eq!(helper_name(-1), None);
        assert_eq!(helper_name(212), None);
        assert_eq!(helper_id("bpf_tail_call"), Some(12));
        assert_eq!(helper_id("tail_call"), None);
        assert_eq!(helper_id("bpf_unspec"), None);
        assert_eq!(map_type_name(1).as_deref(), Some("hash"));
        assert_eq!(map_type_name(27).as_deref(), Some("ringbuf"));
        assert_eq!(map_type_name(33).as_deref(), Some("arena"));
        assert_eq!(map_type_name(99), None);
        assert_eq!(map_type_id("ringbuf"), Some(27));
        assert_eq!(escape(b"a\"b\\\n\t\x01"), "a\\\"b\\\\\\n\\t\\x01");
    }
}

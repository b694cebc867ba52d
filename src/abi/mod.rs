//! Kernel numbers without the kernel: the constants of the eBPF ABI (`include/uapi/linux/bpf.h`)
//! as typed values, usable on any host and without the `kernel` feature.
//!
//! * [`helpers`] — the helper functions: number, name and argument count ([`Helper`]).
//! * [`MapType`], [`ProgType`], [`AttachType`] — `enum bpf_map_type`, `enum bpf_prog_type`
//!   and `enum bpf_attach_type` as open newtypes (also re-exported by `sys`).
//!
//! Everything here is plain data; lookups are table indexing.

mod enums;
pub mod helpers;

pub use enums::{AttachType, MapType, ProgType};
pub use helpers::Helper;

#[cfg(test)]
mod tests {
    use super::Helper;

    #[test]
    fn helper_numbers_names_and_arguments() {
        let lookup = Helper::from_id(1).unwrap();
        assert_eq!(lookup, Helper::MapLookupElem);
        assert_eq!(lookup.name(), "bpf_map_lookup_elem");
        assert_eq!(lookup.n_args(), 2);
        assert_eq!(Helper::MapUpdateElem.n_args(), 4);
        assert_eq!(Helper::KtimeGetNs.n_args(), 0);
        assert_eq!(Helper::TailCall.id(), 12);
        assert_eq!(
            Helper::from_id(113).unwrap().name(),
            "bpf_probe_read_kernel"
        );
        assert_eq!(Helper::from_id(211), Some(Helper::CgrpStorageDelete));
        assert_eq!(Helper::from_id(0), None);
        assert_eq!(Helper::from_id(u32::MAX), None);
        assert_eq!(Helper::from_name("loop"), Some(Helper::Loop));
        assert_eq!(Helper::from_name("bpf_loop"), Some(Helper::Loop));
        assert_eq!(Helper::from_name("nope"), None);
        assert_eq!(Helper::Loop.to_string(), "bpf_loop");
    }

    #[test]
    fn every_helper_round_trips_and_takes_at_most_five_arguments() {
        for (i, h) in Helper::all().enumerate() {
            assert_eq!(h.id() as usize, i + 1);
            assert_eq!(Helper::from_id(h.id()), Some(h));
            assert_eq!(Helper::from_name(h.name()), Some(h));
            assert!(h.n_args() <= 5, "{h} takes {} arguments", h.n_args());
        }
    }
}

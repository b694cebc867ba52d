//! CO-RE relocation kinds and access strings.
//!
//! [`CoreReloKind`] is the kernel's `enum bpf_core_relo_kind` (13 kinds, numbered 0..=12 on
//! the wire) with libbpf's short names for display. [`CoreAccess`] is the parsed form of an
//! access string such as `"0:1:2"`: the first index applies to the base pointer as an array
//! index, the rest select members (struct/union) or elements (array) one level at a time;
//! for enum value relocations the single index is the enumerator's position. Parsing is
//! strict (decimal digits separated by single colons, at most
//! [`MAX_ACCESS_COMPONENTS`] components, each fitting a `u32`) and costs one pass and one
//! allocation bounded by the string's length.

use std::fmt;
use std::str::FromStr;

use super::BtfExtError;

/// The most components an access string may have (libbpf's `BPF_CORE_SPEC_MAX_LEN`).
pub const MAX_ACCESS_COMPONENTS: usize = 64;

/// What a CO-RE relocation computes (`enum bpf_core_relo_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoreReloKind {
    /// Byte offset of a field (`BPF_CORE_FIELD_BYTE_OFFSET`, 0).
    FieldByteOffset,
    /// Byte size of a field (`BPF_CORE_FIELD_BYTE_SIZE`, 1).
    FieldByteSize,
    /// Whether a field exists (`BPF_CORE_FIELD_EXISTS`, 2).
    FieldExists,
    /// Whether a field is signed (`BPF_CORE_FIELD_SIGNED`, 3).
    FieldSigned,
    /// Left shift for bitfield extraction (`BPF_CORE_FIELD_LSHIFT_U64`, 4).
    FieldLshiftU64,
    /// Right shift for bitfield extraction (`BPF_CORE_FIELD_RSHIFT_U64`, 5).
    FieldRshiftU64,
    /// The type's id in the program's own BTF (`BPF_CORE_TYPE_ID_LOCAL`, 6).
    TypeIdLocal,
    /// The type's id in the target BTF (`BPF_CORE_TYPE_ID_TARGET`, 7).
    TypeIdTarget,
    /// Whether the type exists in the target (`BPF_CORE_TYPE_EXISTS`, 8).
    TypeExists,
    /// The type's size in the target (`BPF_CORE_TYPE_SIZE`, 9).
    TypeSize,
    /// Whether an enumerator exists (`BPF_CORE_ENUMVAL_EXISTS`, 10).
    EnumvalExists,
    /// An enumerator's value (`BPF_CORE_ENUMVAL_VALUE`, 11).
    EnumvalValue,
    /// Whether the type matches the target's shape (`BPF_CORE_TYPE_MATCHES`, 12).
    TypeMatches,
}

impl CoreReloKind {
    /// All kinds in wire order.
    pub const ALL: [CoreReloKind; 13] = [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldExists,
        CoreReloKind::FieldSigned,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::TypeIdLocal,
        CoreReloKind::TypeIdTarget,
        CoreReloKind::TypeExists,
        CoreReloKind::TypeSize,
        CoreReloKind::EnumvalExists,
        CoreReloKind::EnumvalValue,
        CoreReloKind::TypeMatches,
    ];

    /// The kind with wire value `value`, or `None` for values past 12.
    pub fn from_u32(value: u32) -> Option<CoreReloKind> {
        Self::ALL.get(usize::try_from(value).ok()?).copied()
    }

    /// The wire value.
    pub fn to_u32(self) -> u32 {
        self as u32
    }

    /// libbpf's short name (`byte_off`, `type_matches`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CoreReloKind::FieldByteOffset => "byte_off",
            CoreReloKind::FieldByteSize => "byte_sz",
            CoreReloKind::FieldExists => "field_exists",
            CoreReloKind::FieldSigned => "signed",
            CoreReloKind::FieldLshiftU64 => "lshift_u64",
            CoreReloKind::FieldRshiftU64 => "rshift_u64",
            CoreReloKind::TypeIdLocal => "local_type_id",
            CoreReloKind::TypeIdTarget => "target_type_id",
            CoreReloKind::TypeExists => "type_exists",
            CoreReloKind::TypeSize => "type_size",
            CoreReloKind::EnumvalExists => "enumval_exists",
            CoreReloKind::EnumvalValue => "enumval_value",
            CoreReloKind::TypeMatches => "type_matches",
        }
    }

    /// Kinds 0..=5, whose access string walks members and array elements to a field.
    pub fn is_field_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::FieldByteOffset
                | CoreReloKind::FieldByteSize
                | CoreReloKind::FieldExists
                | CoreReloKind::FieldSigned
                | CoreReloKind::FieldLshiftU64
                | CoreReloKind::FieldRshiftU64
        )
    }

    /// Kinds about a whole type (ids, existence, size, match); their access string is `"0"`.
    pub fn is_type_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::TypeIdLocal
                | CoreReloKind::TypeIdTarget
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeSize
                | CoreReloKind::TypeMatches
        )
    }

    /// Kinds about an enumerator; the access string is the enumerator's index.
    pub fn is_enumval_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed CO-RE access string: `"0:1:2"` → `[0, 1, 2]`.
///
/// Never empty. The first index is the array index applied to the base pointer (almost
/// always 0); each further index selects a member or an array element of the type reached
/// so far. Display gives back the canonical string (no leading zeros).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreAccess {
    indices: Vec<u32>,
}

impl CoreAccess {
    /// Parses an access string strictly: one or more decimal `u32`s separated by single
    /// colons, at most [`MAX_ACCESS_COMPONENTS`] of them.
    pub fn parse(access: &str) -> Result<CoreAccess, BtfExtError> {
        if access.is_empty() {
            return Err(BtfExtError::AccessEmpty);
        }
        // Every component takes at least two bytes with its colon, so this bounds the
        // allocation by the input as well as by the component limit.
        let mut indices = Vec::with_capacity((access.len() / 2 + 1).min(MAX_ACCESS_COMPONENTS));
        let mut position = 0usize;
        for (component, part) in access.split(':').enumerate() {
            if component == MAX_ACCESS_COMPONENTS {
                return Err(BtfExtError::AccessTooLong {
                    access: access.chars().take(200).collect(),
                    max: MAX_ACCESS_COMPONENTS,
                });
            }
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BtfExtError::AccessNotNumeric {
                    access: access.to_owned(),
                    component,
                    position,
                });
            }
            let value = part
                .parse::<u32>()
                .map_err(|_| BtfExtError::AccessOverflow {
                    access: access.to_owned(),
                    component,
                    position,
                })?;
            indices.push(value);
            position += part.len() + 1;
        }
        Ok(CoreAccess { indices })
    }

    /// Builds an access from its indices, checking the same limits as [`CoreAccess::parse`].
    pub fn from_indices(indices: Vec<u32>) -> Result<CoreAccess, BtfExtError> {
        if indices.is_empty() {
            return Err(BtfExtError::AccessEmpty);
        }
        if indices.len() > MAX_ACCESS_COMPONENTS {
            let mut access = String::new();
            for (i, v) in indices.iter().take(MAX_ACCESS_COMPONENTS + 1).enumerate() {
                if i > 0 {
                    access.push(':');
                }
                access.push_str(&v.to_string());
            }
            access.truncate(200);
            return Err(BtfExtError::AccessTooLong {
                access,
                max: MAX_ACCESS_COMPONENTS,
            });
        }
        Ok(CoreAccess { indices })
    }

    /// All indices, base array index first.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The array index on the base pointer (the first component).
    pub fn base_index(&self) -> u32 {
        // `indices` is never empty: both constructors refuse that.
        self.indices.first().copied().unwrap_or(0)
    }

    /// The member/element indices after the base index.
    pub fn accessors(&self) -> &[u32] {
        self.indices.get(1..).unwrap_or(&[])
    }

    /// Number of components (at least 1).
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Always false: an access has at least one component. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

impl FromStr for CoreAccess {
    type Err = BtfExtError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CoreAccess::parse(s)
    }
}

impl fmt::Display for CoreAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.indices.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_number_and_name_like_the_kernel_and_libbpf() {
        let names = [
            "byte_off",
            "byte_sz",
            "field_exists",
            "signed",
            "lshift_u64",
            "rshift_u64",
            "local_type_id",
            "target_type_id",
            "type_exists",
            "type_size",
            "enumval_exists",
            "enumval_value",
            "type_matches",
        ];
        for (value, name) in names.iter().enumerate() {
            let kind = CoreReloKind::from_u32(value as u32).expect("known kind");
            assert_eq!(kind.to_u32(), value as u32);
            assert_eq!(kind.to_string(), *name);
            let classes = [
                kind.is_field_based(),
                kind.is_type_based(),
                kind.is_enumval_based(),
            ];
            assert_eq!(classes.iter().filter(|c| **c).count(), 1, "{kind}");
        }
        assert_eq!(CoreReloKind::from_u32(13), None);
        assert_eq!(CoreReloKind::from_u32(u32::MAX), None);
        assert!(CoreReloKind::TypeMatches.is_type_based());
        assert!(CoreReloKind::FieldRshiftU64.is_field_based());
        assert!(CoreReloKind::EnumvalValue.is_enumval_based());
        assert!(!CoreReloKind::TypeIdLocal.is_field_based());
    }

    #[test]
    fn access_parses_and_displays() {
        let a = CoreAccess::parse("0:1:2").unwrap();
        assert_eq!(a.indices(), &[0, 1, 2]);
        assert_eq!(a.base_index(), 0);
        assert_eq!(a.accessors(), &[1, 2]);
        assert_eq!(a.to_string(), "0:1:2");
        let b: CoreAccess = "7".parse().unwrap();
        assert_eq!(b.indices(), &[7]);
        assert!(b.accessors().is_empty());
        assert_eq!(
            CoreAccess::parse("4294967295").unwrap().indices(),
            &[u32::MAX]
        );
        assert_eq!(CoreAccess::parse("00:01").unwrap().to_string(), "0:1");
    }

    #[test]
    fn access_errors_say_where() {
        assert_eq!(CoreAccess::parse(""), Err(BtfExtError::AccessEmpty));
        for (s, component, position) in [
            (":1", 0, 0),
            ("0:", 1, 2),
            ("0::1", 1, 2),
            ("0:x", 1, 2),
            ("0:-1", 1, 2),
            ("0: 1", 1, 2),
            ("+1", 0, 0),
            ("12:3a", 1, 3),
        ] {
            assert_eq!(
                CoreAccess::parse(s),
                Err(BtfExtError::AccessNotNumeric {
                    access: s.to_owned(),
                    component,
                    position
                }),
                "{s:?}"
            );
        }
        assert_eq!(
            CoreAccess::parse("0:4294967296"),
            Err(BtfExtError::AccessOverflow {
                access: "0:4294967296".to_owned(),
                component: 1,
                position: 2
            })
        );
        let ok = vec!["1"; MAX_ACCESS_COMPONENTS].join(":");
        assert_eq!(CoreAccess::parse(&ok).unwrap().len(), MAX_ACCESS_COMPONENTS);
        let long = vec!["1"; MAX_ACCESS_COMPONENTS + 1].join(":");
        assert!(matches!(
            CoreAccess::parse(&long),
            Err(BtfExtError::AccessTooLong { max: 64, .. })
        ));
        assert!(matches!(
            CoreAccess::from_indices(vec![0; 65]),
            Err(BtfExtError::AccessTooLong { max: 64, .. })
        ));
        assert_eq!(
            CoreAccess::from_indices(Vec::new()),
            Err(BtfExtError::AccessEmpty)
        );
        assert_eq!(
            CoreAccess::from_indices(vec![0, 3]).unwrap().to_string(),
            "0:3"
        );
        let msg = CoreAccess::parse("0:x").unwrap_err().to_string();
        assert_eq!(
            msg,
            "bad CO-RE access string \"0:x\": component 1 at byte 2 is not a decimal number"
        );
    }
}

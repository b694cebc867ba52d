//! BTF de-duplication with the semantics of libbpf's `btf__dedup`: equal types collapse onto
//! one canonical representative, and every type id is remapped to it.
//!
//! A static linker concatenates the BTF of several objects; [`dedup`] turns that into one BTF
//! in which each C type appears once, and returns the map from old to new ids so the caller
//! can remap `.BTF.ext` records and module references.
//!
//! The phases, in order (each a linear pass over the types):
//!
//! 1. **Strings** are interned by content, so equal names compare equal whatever their
//!    offsets; the output string table holds only the strings of surviving types.
//! 2. **Primitives** (`INT`, `FLOAT`, `FWD`, `ENUM`, `ENUM64`) merge when equal. An enum
//!    forward declaration (no enumerators) merges into the full enum of its name.
//! 3. **Structs, unions and typedefs** are hashed without their referenced types; a candidate
//!    of equal hash and shape is confirmed by a side-by-side depth-first walk of both type
//!    graphs that records a *hypothetical* map from canonical-graph to candidate-graph types.
//!    A contradiction (one canonical type standing for two different candidates) means the
//!    graphs differ; a revisit of an already mapped pair closes a cycle (through pointers)
//!    and is accepted. A `FWD` in either graph matches a struct or union of its name and
//!    kind; when the graphs are equivalent the pairs are merged into the canonical map, which
//!    resolves such `FWD`s.
//! 4. **Remaining forward declarations** resolve to the struct (union) of their name when
//!    exactly one canonical struct (union) has that name.
//! 5. **Reference types** (`PTR`, qualifiers, `TYPE_TAG`, `ARRAY`, `FUNC_PROTO`, `FUNC`,
//!    `VAR`, `DECL_TAG`) are deduplicated after their targets, with targets replaced by
//!    their canonical ids before hashing, so equality is a flat comparison.
//! 6. **Compaction**: canonical types keep their relative order (the first occurrence of each
//!    type survives, except that a definition replaces forward declarations of it), `void`
//!    stays 0, and every reference is remapped.
//!
//! Differences from libbpf, on purpose: `VAR`s are deduplicated like other reference types
//! (libbpf keeps every `VAR`; its linker resolves duplicate symbols before it dedups), so two
//! objects declaring the same map share one `VAR`; forward declarations resolve per kind (a
//! `struct` forward to the only struct of its name even if a union of that name exists);
//! `DATASEC`s are never merged. Split BTF is supported: base types are canonical and never
//! change, own types may collapse onto them.
//!
//! Invariants of the result: every old id maps to a type of the new BTF of the same kind,
//! except that a `FWD` may map to the struct or union it declares and an enum forward
//! declaration to the full enum; the new BTF never has more types than the old one.
//!
//! Costs and bounds: every type is hashed once; hash buckets are chained through one array,
//! so the tables make no allocation per type. Structs and unions hash by their *shape* (what
//! they hold by value, all the way down, computed in one post-order pass), so structurally
//! different types rarely share a bucket: a chain of anonymous structs each holding the
//! next by value, once cubic (1,000 types took 18.7 s), puts each in its own bucket.
//! Everything that compares candidates draws on one **work budget** for the whole dedup,
//! [`WORK_BASE`] + [`WORK_PER_ITEM`] × (types + members, parameters, enumerators): one unit
//! per candidate considered, per type pair an equivalence walk or an identical-types check
//! visits, and per item compared. So dedup costs O(input) whatever the input; two copies of
//! vmlinux use about 2 units per type, far below the budget. When malicious input exhausts
//! it (a chain of structs linked by pointers, whose shapes are equal; a struct whose every
//! member conflicts in the walk), the types not compared yet stay as they are: the result
//! is still correct, only not minimal, and [`Deduped::budget_exhausted`] says so. The
//! identical-types check no longer gets a fresh budget per conflict (a walk with a conflict
//! per member once cost members² work). The walks use explicit stacks, so deep or cyclic
//! type graphs from untrusted input cannot overflow the call stack; reference cycles that
//! do not pass through a struct or union are reported as [`BtfError::ReferenceCycle`].
//! Memory: a few words per type and 4 bytes per byte of the string section (string
//! offset → interned number), all linear in the input.

use hashbrown::HashMap;

use super::copy::Strings;
use super::error::{BtfError, Result};
use super::types::{raw_id, type_id};
use super::{Btf, EnumValue, ItemsView, Kind, Member, Param, StrOffset, Type, TypeId, TypeKind};

/// The result of [`dedup`]: the deduplicated BTF and where each old type id went.
#[derive(Clone, Debug)]
pub struct Deduped {
    /// The deduplicated BTF (a split BTF over the same base when the input was split).
    pub btf: Btf,
    /// `map[old]` is the new id of old type id `old`, for every old id from `void` (0) up
    /// to the input's [`Btf::n_types`]. Base ids of a split BTF map to themselves.
    pub map: Vec<TypeId>,
    /// True when the work budget ([`WORK_PER_ITEM`], [`WORK_BASE`]) ran out: the types
    /// not compared by then were kept as they were, so the BTF is correct but may hold
    /// duplicates. Only inputs built to be slow get there.
    pub budget_exhausted: bool,
}

impl Deduped {
    /// The new id of old type `old`, or `None` if `old` was not a type of the input.
    pub fn new_id(&self, old: TypeId) -> Option<TypeId> {
        self.map.get(raw_id(old) as usize).copied()
    }
}

/// De-duplicates `btf` with libbpf's `btf__dedup` semantics: equal primitives, structurally
/// equivalent structs and unions (recursively, cycles through pointers included), forward
/// declarations resolved to their unique definition, and reference types equal once their
/// targets are; `DATASEC`s are kept as they are with their variables remapped. Canonical
/// types keep their relative order and `void` stays 0.
///
/// Errors: a reference to a type id past the last type, a string offset outside the string
/// section or a name that is not UTF-8, and reference cycles that do not pass through a
/// struct or union (which no compiler emits).
pub fn dedup(btf: &Btf) -> Result<Deduped> {
    let mut d = Dedup::new(btf)?;
    d.prepare_base();
    d.prim_types()?;
    d.struct_types()?;
    d.resolve_fwds()?;
    d.ref_types()?;
    d.compact()
}

/// A type that has not been visited by its phase yet.
const UNPROCESSED: u32 = u32::MAX;
/// A reference type whose targets are being deduplicated (seeing it again is a cycle).
const IN_PROGRESS: u32 = u32::MAX - 1;
/// Depth limit of the "identical types" comparison, as in libbpf.
const IDENTICAL_DEPTH: u32 = 16;
/// Work units [`dedup`] may spend comparing candidates, per type and per item (member,
/// parameter, enumerator) of its input; see [`WORK_BASE`].
pub const WORK_PER_ITEM: u64 = 2;
/// Work units [`dedup`] may spend comparing candidates whatever the size of its input.
/// One unit is one candidate considered, one type pair popped by an equivalence walk or an
/// identical-types check, or one item compared.
pub const WORK_BASE: u64 = 1 << 20;

/// One step of a hash: order-dependent and well mixed, deterministic across runs.
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

/// Hash buckets of canonical candidates, in insertion order, chained through `next`.
struct Table {
    heads: HashMap<u64, (u32, u32)>,
    /// For each type id, the next type id of the same bucket (`UNPROCESSED` at the end).
    next: Vec<u32>,
}

impl Table {
    fn new(n: usize) -> Table {
        Table {
            heads: HashMap::new(),
            next: vec![UNPROCESSED; n],
        }
    }

    fn add(&mut self, hash: u64, id: u32) {
        match self.heads.get_mut(&hash) {
            Some((_, tail)) => {
                self.next[*tail as usize] = id;
                *tail = id;
            }
            None => {
                self.heads.insert(hash, (id, id));
            }
        }
    }

    /// The first `limit` candidates of bucket `hash`, oldest first, into `out`.
    fn candidates(&self, hash: u64, out: &mut Vec<u32>, limit: usize) {
        out.clear();
        let Some(&(head, _)) = self.heads.get(&hash) else {
            return;
        };
        let mut cur = head;
        while cur != UNPROCESSED && out.len() < limit {
            out.push(cur);
            cur = self.next[cur as usize];
        }
    }
}

struct Dedup<'a> {
    btf: &'a Btf,
    /// First own type id (0 for a base BTF).
    start: u32,
    /// Number of type ids (base included).
    n: u32,
    /// String offset → interned string number (equal strings, equal numbers), indexed by
    /// offset (`UNPROCESSED` where no string starts): 4 bytes per byte of the string
    /// section, and a lookup that is one index, the most frequent step of every walk.
    sids: Vec<u32>,
    /// The canonical map: `map[id]` is `id` for canonical types, another id on the way to
    /// the canonical one, or `UNPROCESSED` / `IN_PROGRESS`.
    map: Vec<u32>,
    /// Hypothetical map of the current structural walk: canonical-graph id → candidate id.
    hypot: Vec<u32>,
    /// The keys set in `hypot`, to clear it in time proportional to the walk.
    hypot_list: Vec<u32>,
    /// Set when a walk matched a base `FWD` with an own struct: the base cannot change, so
    /// the candidate is not really equivalent.
    hypot_adjust_canon: bool,
    table: Table,
    /// The shape of each type (see [`Self::compute_shapes`]).
    shapes: Vec<u64>,
    /// Work units left for comparisons (see [`WORK_PER_ITEM`]); at zero no more candidates
    /// are compared and every type not yet processed stays its own canonical type.
    budget: u64,
    /// Scratch buffers.
    cands: Vec<u32>,
    walk: Vec<(u32, u32)>,
    /// Every type (base included), decoded once: the walks look at types many times.
    types: Vec<Type>,
}

impl<'a> Dedup<'a> {
    fn new(btf: &'a Btf) -> Result<Dedup<'a>> {
        let n = btf.n_types();
        let start = btf.first_own_id();
        let mut d = Dedup {
            btf,
            start,
            n,
            sids: Vec::new(),
            map: vec![UNPROCESSED; n as usize],
            hypot: vec![UNPROCESSED; n as usize],
            hypot_list: Vec::new(),
            hypot_adjust_canon: false,
            table: Table::new(n as usize),
            shapes: Vec::new(),
            budget: 0,
            cands: Vec::new(),
            walk: Vec::new(),
            types: (0..n).filter_map(|i| btf.get(type_id(i))).collect(),
        };
        let n_items: u64 = d
            .types
            .get(start as usize..)
            .unwrap_or_default()
            .iter()
            .map(|t| match t.kind {
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members.len(),
                TypeKind::FuncProto { params, .. } => params.len(),
                TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => values.len(),
                TypeKind::Datasec { vars, .. } => vars.len(),
                _ => 0,
            } as u64)
            .sum();
        d.budget = WORK_BASE + WORK_PER_ITEM * (u64::from(n) + n_items);
        d.intern_strings()?;
        d.compute_shapes();
        if n > 0 {
            d.map[0] = 0;
        }
        for id in start.max(1)..n {
            // DATASECs are never merged: each stays its own canonical type.
            if matches!(d.ty(id)?.kind, TypeKind::Datasec { .. }) {
                d.map[id as usize] = id;
            }
        }
        Ok(d)
    }

    /// Interns every string a type or item refers to, base included: by their bytes (no
    /// UTF-8 check here; the output's strings are checked when they are added to it).
    fn intern_strings(&mut self) -> Result<()> {
        let btf = self.btf;
        let str_len = btf.str_len();
        let mut by_content: HashMap<&'a [u8], u32> = HashMap::new();
        let mut sids = vec![UNPROCESSED; str_len as usize];
        let mut intern = |sids: &mut Vec<u32>, owner: u32, off: StrOffset| -> Result<()> {
            match sids.get(off.0 as usize) {
                Some(&UNPROCESSED) => {}
                Some(_) => return Ok(()),
                None => {
                    return Err(BtfError::StrOffsetOutOfRange {
                        type_id: owner,
                        str_offset: off.0,
                        str_len,
                    })
                }
            }
            let s = btf.str_bytes(off).ok_or(BtfError::StrOffsetOutOfRange {
                type_id: owner,
                str_offset: off.0,
                str_len,
            })?;
            let next = by_content.len() as u32;
            sids[off.0 as usize] = *by_content.entry(s).or_insert(next);
            Ok(())
        };
        for raw in 0..self.n {
            let Some(t) = self.types.get(raw as usize) else {
                continue;
            };
            intern(&mut sids, raw, t.name)?;
            for m in self.members(raw) {
                intern(&mut sids, raw, m.name)?;
            }
            for p in self.params(raw) {
                intern(&mut sids, raw, p.name)?;
            }
            for v in self.enum_values(raw) {
                intern(&mut sids, raw, v.name)?;
            }
        }
        self.sids = sids;
        Ok(())
    }

    /// The interned number of the string at `off` (interned by [`Self::intern_strings`]).
    fn sid(&self, off: StrOffset) -> u32 {
        self.sids
            .get(off.0 as usize)
            .copied()
            .unwrap_or(UNPROCESSED)
    }

    fn ty(&self, id: u32) -> Result<Type> {
        self.types
            .get(id as usize)
            .copied()
            .ok_or(BtfError::TypeIdOutOfRange {
                type_id: 0,
                referenced: id,
                n_types: self.n,
            })
    }

    /// The members of `id` (empty for other kinds), from the decoded type.
    fn members(&self, id: u32) -> ItemsView<'a, Member> {
        match self.types.get(id as usize).map(|t| t.kind) {
            Some(TypeKind::Struct { members, .. } | TypeKind::Union { members, .. }) => {
                self.btf.items_at(type_id(id), members)
            }
            _ => ItemsView::empty(self.btf.endian()),
        }
    }

    /// The parameters of `id` (empty for other kinds), from the decoded type.
    fn params(&self, id: u32) -> ItemsView<'a, Param> {
        match self.types.get(id as usize).map(|t| t.kind) {
            Some(TypeKind::FuncProto { params, .. }) => self.btf.items_at(type_id(id), params),
            _ => ItemsView::empty(self.btf.endian()),
        }
    }

    /// The enumerators of `id` (empty for other kinds), from the decoded type.
    fn enum_values(&self, id: u32) -> ItemsView<'a, EnumValue> {
        match self.types.get(id as usize).map(|t| t.kind) {
            Some(TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. }) => {
                self.btf.items_at(type_id(id), values)
            }
            _ => ItemsView::empty(self.btf.endian()),
        }
    }

    fn is_mapped(&self, id: u32) -> bool {
        self.map
            .get(id as usize)
            .is_some_and(|&m| m != UNPROCESSED && m != IN_PROGRESS)
    }

    /// Follows the canonical map from `id` to the end of its chain (or to the first type
    /// not mapped yet). Chains are acyclic by construction; the step limit only guards
    /// against a bug turning into a hang.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..=self.n {
            if !self.is_mapped(id) || self.map[id as usize] == id {
                return id;
            }
            id = self.map[id as usize];
        }
        id
    }

    /// A `FWD` resolved to its struct or union if it has been; any other id unchanged.
    fn resolve_fwd(&self, id: u32) -> Result<u32> {
        if !matches!(self.ty(id)?.kind, TypeKind::Fwd { .. }) {
            return Ok(id);
        }
        let r = self.resolve(id);
        if matches!(self.ty(r)?.kind, TypeKind::Fwd { .. }) {
            Ok(id)
        } else {
            Ok(r)
        }
    }

    /// The type's hash for its bucket: without referenced types for structs, unions,
    /// typedefs and enums (their equivalence is established otherwise), with the canonical
    /// ids of referenced types for the reference kinds.
    fn hash(&self, id: u32) -> Result<u64> {
        let t = self.ty(id)?;
        let name = u64::from(self.sid(t.name));
        let kind = t.kind.kind() as u64;
        let tid = |t: TypeId| u64::from(self.resolve(raw_id(t)));
        let h = mix(mix(0, kind), name);
        Ok(match t.kind {
            // Not typedefs by height: a typedef of a forward declaration is equivalent to
            // one of the struct it declares.
            TypeKind::Void | TypeKind::Datasec { .. } | TypeKind::Typedef(_) => h,
            // An enum forward declaration has a name: anonymous enums hash by their values.
            TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } if t.name.0 == 0 => {
                let values = self.enum_values(id);
                let mut h = mix(mix(0, name), u64::from(size) << 32 | values.len() as u64);
                for v in values {
                    h = mix(mix(h, u64::from(self.sid(v.name))), v.bits);
                }
                h
            }
            // Named enums hash by name only, so that a forward declaration finds its full
            // enum.
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => mix(0, name),
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => mix(
                mix(h, u64::from(size)),
                u64::from(encoding.0) << 16 | u64::from(offset) << 8 | u64::from(bits),
            ),
            TypeKind::Float { size } => mix(h, u64::from(size)),
            TypeKind::Fwd { union } => mix(h, u64::from(union)),
            // Structs and unions by their shape: names, sizes, members, and what they
            // hold by value, all the way down.
            TypeKind::Struct { .. } | TypeKind::Union { .. } => self.shapes[id as usize],
            TypeKind::Ptr(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t) => mix(h, tid(t)),
            TypeKind::TypeTag { ty, attribute } => mix(mix(h, tid(ty)), u64::from(attribute)),
            TypeKind::Func { proto, linkage } => mix(mix(h, tid(proto)), linkage.to_wire().into()),
            TypeKind::Var { ty, linkage } => mix(mix(h, tid(ty)), linkage.to_wire().into()),
            TypeKind::DeclTag {
                ty,
                component_idx,
                attribute,
            } => mix(
                mix(mix(h, tid(ty)), component_idx as u32 as u64),
                u64::from(attribute),
            ),
            TypeKind::Array { elem, index, len } => {
                mix(mix(mix(h, tid(elem)), tid(index)), u64::from(len))
            }
            TypeKind::FuncProto { ret, .. } => {
                let params = self.params(id);
                let mut h = mix(mix(h, tid(ret)), params.len() as u64);
                for p in params {
                    h = mix(mix(h, u64::from(self.sid(p.name))), tid(p.ty));
                }
                h
            }
        })
    }

    /// The type that `id` holds by value as its `i`-th child (struct and union members,
    /// the element of an array, the target of a typedef or qualifier), if any. Pointers,
    /// prototypes and functions hold nothing by value.
    fn by_value_child(&self, id: u32, i: usize) -> Option<u32> {
        let t = self.types.get(id as usize).copied()?;
        let child = match t.kind {
            TypeKind::Struct { .. } | TypeKind::Union { .. } => self.members(id).get(i)?.ty,
            TypeKind::Array { elem, .. } if i == 0 => elem,
            TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t)
            | TypeKind::TypeTag { ty: t, .. }
                if i == 0 =>
            {
                t
            }
            _ => return None,
        };
        Some(raw_id(child)).filter(|&c| c < self.n)
    }

    /// The *shape* of every type: a hash of what it holds by value, all the way down
    /// (names, sizes, member names and offsets, and the shapes of by-value members; a
    /// pointer is a leaf). Equivalent types hold equivalent types by value, so they have
    /// equal shapes, and the shape is the hash of structs and unions. Without it, a chain
    /// of anonymous structs each holding the next by value falls in one bucket and each
    /// struct was compared with every earlier one, each walk running down the chain (cubic:
    /// issue 11, bug 2); and vmlinux's hundreds of anonymous unions of two anonymous structs
    /// were compared pairwise. One iterative post-order pass; a by-value cycle (which C
    /// cannot express) is cut where it closes.
    fn compute_shapes(&mut self) {
        const UNSEEN: u64 = u64::MAX;
        const OPEN: u64 = u64::MAX - 1;
        let mut shapes = vec![UNSEEN; self.n as usize];
        let mut stack: Vec<(u32, usize)> = Vec::new();
        for root in 0..self.n {
            if shapes[root as usize] != UNSEEN {
                continue;
            }
            shapes[root as usize] = OPEN;
            stack.push((root, 0));
            while let Some(&mut (id, ref mut next)) = stack.last_mut() {
                if let Some(child) = self.by_value_child(id, *next) {
                    *next += 1;
                    if shapes[child as usize] == UNSEEN {
                        shapes[child as usize] = OPEN;
                        stack.push((child, 0));
                    }
                    continue;
                }
                stack.pop();
                shapes[id as usize] = self.shape(id, &shapes);
            }
        }
        self.shapes = shapes;
    }

    /// The shape of `id` from the shapes of its by-value children (see
    /// [`Self::compute_shapes`]).
    fn shape(&self, id: u32, shapes: &[u64]) -> u64 {
        let child = |t: TypeId| match shapes.get(raw_id(t) as usize) {
            Some(&s) if s < u64::MAX - 1 => s,
            _ => 0x5eed,
        };
        let Some(t) = self.types.get(id as usize).copied() else {
            return 0;
        };
        let h = mix(mix(0, t.kind.kind() as u64), u64::from(self.sid(t.name)));
        match t.kind {
            TypeKind::Struct {
                size,
                bitfield_encoding,
                ..
            }
            | TypeKind::Union {
                size,
                bitfield_encoding,
                ..
            } => {
                let members = self.members(id);
                let mut h = mix(
                    mix(h, u64::from(size)),
                    (members.len() as u64) << 1 | u64::from(bitfield_encoding),
                );
                for m in members {
                    h = mix(h, u64::from(self.sid(m.name)));
                    h = mix(
                        h,
                        u64::from(m.bit_offset) | u64::from(m.bitfield_size) << 32,
                    );
                    h = mix(h, child(m.ty));
                }
                h
            }
            TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t) => mix(h, child(t)),
            TypeKind::TypeTag { ty, attribute } => mix(mix(h, u64::from(attribute)), child(ty)),
            TypeKind::Array { elem, len, .. } => mix(mix(h, u64::from(len)), child(elem)),
            // An enum of a name may stand for its forward declaration: the name only.
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => mix(0, u64::from(self.sid(t.name))),
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => mix(
                mix(h, u64::from(size)),
                u64::from(encoding.0) << 16 | u64::from(offset) << 8 | u64::from(bits),
            ),
            TypeKind::Float { size } => mix(h, u64::from(size)),
            // A pointer is a leaf: its target may be a forward declaration on one side.
            TypeKind::Ptr(_) => mix(0, Kind::Ptr as u64),
            _ => h,
        }
    }

    /// Equality of everything but referenced types and items: name, kind, the kind flag,
    /// the item count and the size (libbpf's `btf_equal_common` without the `type` field).
    fn equal_header(&self, a: &Type, b: &Type) -> bool {
        if self.sid(a.name) != self.sid(b.name) {
            return false;
        }
        use TypeKind as K;
        match (a.kind, b.kind) {
            (K::Void, K::Void) => true,
            (
                K::Int {
                    size: s1,
                    encoding: e1,
                    offset: o1,
                    bits: b1,
                },
                K::Int {
                    size: s2,
                    encoding: e2,
                    offset: o2,
                    bits: b2,
                },
            ) => (s1, e1, o1, b1) == (s2, e2, o2, b2),
            (K::Float { size: s1 }, K::Float { size: s2 }) => s1 == s2,
            (K::Fwd { union: u1 }, K::Fwd { union: u2 }) => u1 == u2,
            (
                K::Struct {
                    size: s1,
                    members: m1,
                    bitfield_encoding: f1,
                },
                K::Struct {
                    size: s2,
                    members: m2,
                    bitfield_encoding: f2,
                },
            )
            | (
                K::Union {
                    size: s1,
                    members: m1,
                    bitfield_encoding: f1,
                },
                K::Union {
                    size: s2,
                    members: m2,
                    bitfield_encoding: f2,
                },
            ) => (s1, m1.len(), f1) == (s2, m2.len(), f2),
            (
                K::Enum {
                    size: s1,
                    values: v1,
                    signed: g1,
                },
                K::Enum {
                    size: s2,
                    values: v2,
                    signed: g2,
                },
            )
            | (
                K::Enum64 {
                    size: s1,
                    values: v1,
                    signed: g1,
                },
                K::Enum64 {
                    size: s2,
                    values: v2,
                    signed: g2,
                },
            ) => (s1, v1.len(), g1) == (s2, v2.len(), g2),
            (K::Ptr(_), K::Ptr(_))
            | (K::Typedef(_), K::Typedef(_))
            | (K::Volatile(_), K::Volatile(_))
            | (K::Const(_), K::Const(_))
            | (K::Restrict(_), K::Restrict(_)) => true,
            (K::TypeTag { attribute: f1, .. }, K::TypeTag { attribute: f2, .. }) => f1 == f2,
            (K::Func { linkage: l1, .. }, K::Func { linkage: l2, .. })
            | (K::Var { linkage: l1, .. }, K::Var { linkage: l2, .. }) => l1 == l2,
            (
                K::DeclTag {
                    component_idx: c1,
                    attribute: f1,
                    ..
                },
                K::DeclTag {
                    component_idx: c2,
                    attribute: f2,
                    ..
                },
            ) => (c1, f1) == (c2, f2),
            (K::Array { len: l1, .. }, K::Array { len: l2, .. }) => l1 == l2,
            (K::FuncProto { params: p1, .. }, K::FuncProto { params: p2, .. }) => {
                p1.len() == p2.len()
            }
            (K::Datasec { .. }, K::Datasec { .. }) => false,
            _ => false,
        }
    }

    /// Struct/union equality without member types; typedef equality without its target.
    fn shallow_equal(&self, a: u32, b: u32) -> Result<bool> {
        let (ta, tb) = (self.ty(a)?, self.ty(b)?);
        if !self.equal_header(&ta, &tb) {
            return Ok(false);
        }
        if !ta.kind.is_composite() {
            return Ok(true);
        }
        let (ma, mb) = (self.members(a), self.members(b));
        Ok(ma.iter().zip(mb).all(|(x, y)| {
            self.sid(x.name) == self.sid(y.name)
                && x.bit_offset == y.bit_offset
                && x.bitfield_size == y.bitfield_size
        }))
    }

    /// Equal enumerators (names and values) of two enums of equal header.
    fn equal_enum_values(&self, a: u32, b: u32) -> bool {
        let (va, vb) = (self.enum_values(a), self.enum_values(b));
        va.len() == vb.len()
            && va
                .iter()
                .zip(vb)
                .all(|(x, y)| self.sid(x.name) == self.sid(y.name) && x.bits == y.bits)
    }

    fn is_enum_fwd(t: &Type) -> bool {
        match t.kind {
            TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => values.is_empty(),
            _ => false,
        }
    }

    /// Enums equal, or one is a forward declaration (no enumerators) of the other: same
    /// name, any enum kind and size.
    fn compat_enum(&self, a: u32, b: u32) -> Result<bool> {
        let (ta, tb) = (self.ty(a)?, self.ty(b)?);
        let any_enum = |t: &Type| matches!(t.kind.kind(), Kind::Enum | Kind::Enum64);
        if !any_enum(&ta) || !any_enum(&tb) {
            return Ok(false);
        }
        if !Self::is_enum_fwd(&ta) && !Self::is_enum_fwd(&tb) {
            return Ok(self.equal_header(&ta, &tb) && self.equal_enum_values(a, b));
        }
        Ok(self.sid(ta.name) == self.sid(tb.name))
    }

    /// Exact equality of two types whose referenced types are compared by canonical id: the
    /// test of the primitive and reference phases.
    fn equal_exact(&self, a: u32, b: u32) -> Result<bool> {
        let (ta, tb) = (self.ty(a)?, self.ty(b)?);
        if !self.equal_header(&ta, &tb) {
            return Ok(false);
        }
        let r = |t: TypeId| self.resolve(raw_id(t));
        use TypeKind as K;
        Ok(match (ta.kind, tb.kind) {
            (K::Enum { .. }, K::Enum { .. }) | (K::Enum64 { .. }, K::Enum64 { .. }) => {
                self.equal_enum_values(a, b)
            }
            (
                K::Array {
                    elem: e1,
                    index: i1,
                    ..
                },
                K::Array {
                    elem: e2,
                    index: i2,
                    ..
                },
            ) => r(e1) == r(e2) && r(i1) == r(i2),
            (K::FuncProto { ret: r1, .. }, K::FuncProto { ret: r2, .. }) => {
                r(r1) == r(r2)
                    && self
                        .btf
                        .params(type_id(a))
                        .iter()
                        .zip(self.params(b))
                        .all(|(x, y)| self.sid(x.name) == self.sid(y.name) && r(x.ty) == r(y.ty))
            }
            (K::Struct { .. }, _) | (K::Union { .. }, _) => false,
            (ka, kb) => match (ka.referenced(), kb.referenced()) {
                (Some(x), Some(y)) => r(x) == r(y),
                (None, None) => true,
                _ => false,
            },
        })
    }

    /// Base types are canonical by definition and candidates for the split types (except
    /// `VAR`s and `DATASEC`s, which stay apart from own types).
    fn prepare_base(&mut self) {
        for id in 1..self.start {
            self.map[id as usize] = id;
            let Ok(t) = self.ty(id) else { continue };
            if matches!(t.kind, TypeKind::Var { .. } | TypeKind::Datasec { .. }) {
                continue;
            }
            if let Ok(h) = self.hash(id) {
                self.table.add(h, id);
            }
        }
    }

    /// Takes `units` from the work budget; false (and nothing taken) when it has run out.
    fn spend(&mut self, units: u64) -> bool {
        match self.budget.checked_sub(units) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => {
                self.budget = 0;
                false
            }
        }
    }

    /// The candidates of bucket `hash` into `cands`, each paid for with one work unit: as
    /// many as the budget allows.
    fn candidates(&mut self, hash: u64, cands: &mut Vec<u32>) {
        let limit = usize::try_from(self.budget).unwrap_or(usize::MAX);
        self.table.candidates(hash, cands, limit);
        self.spend(cands.len() as u64);
    }

    fn own_ids(&self) -> std::ops::Range<u32> {
        self.start.max(1)..self.n
    }

    /// Phase 2: `INT`, `FLOAT`, `FWD`, `ENUM`, `ENUM64`.
    fn prim_types(&mut self) -> Result<()> {
        let mut cands = std::mem::take(&mut self.cands);
        for id in self.own_ids() {
            let t = self.ty(id)?;
            let is_enum = match t.kind {
                TypeKind::Int { .. } | TypeKind::Float { .. } | TypeKind::Fwd { .. } => false,
                TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => true,
                _ => continue,
            };
            let h = self.hash(id)?;
            self.candidates(h, &mut cands);
            let mut new_id = id;
            for &cand in &cands {
                // Enumerators are compared one by one.
                if !self.spend(self.enum_values(id).len() as u64) {
                    break;
                }
                if self.equal_exact(id, cand)? {
                    new_id = cand;
                    break;
                }
                if is_enum && self.compat_enum(id, cand)? {
                    if Self::is_enum_fwd(&t) {
                        new_id = cand;
                        break;
                    }
                    // A canonical forward declaration now resolves to this full enum
                    // (only the first: libbpf lets every later one take it over).
                    if cand >= self.start && self.map[cand as usize] == cand {
                        self.map[cand as usize] = id;
                    }
                }
            }
            self.map[id as usize] = new_id;
            if new_id == id {
                self.table.add(h, id);
            }
        }
        self.cands = cands;
        Ok(())
    }

    /// Phase 3: structs, unions and typedefs, by structural equivalence of type graphs.
    fn struct_types(&mut self) -> Result<()> {
        let mut cands = std::mem::take(&mut self.cands);
        for id in self.own_ids() {
            if self.map[id as usize] != UNPROCESSED {
                continue;
            }
            let t = self.ty(id)?;
            if !matches!(
                t.kind,
                TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Typedef(_)
            ) {
                continue;
            }
            let h = self.hash(id)?;
            self.candidates(h, &mut cands);
            let mut new_id = id;
            for &cand in &cands {
                if !self.spend(self.members(id).len() as u64) {
                    break;
                }
                // Guards against a FWD candidate on a hash collision, which the walk would
                // accept and so create a FWD <-> struct loop.
                if !self.shallow_equal(id, cand)? {
                    continue;
                }
                self.clear_hypot();
                if !self.is_equiv(id, cand)? {
                    continue;
                }
                self.merge_hypot()?;
                if self.hypot_adjust_canon {
                    continue;
                }
                new_id = cand;
                break;
            }
            self.map[id as usize] = new_id;
            if new_id == id {
                self.table.add(h, id);
            }
        }
        self.cands = cands;
        Ok(())
    }

    fn clear_hypot(&mut self) {
        for &id in &self.hypot_list {
            self.hypot[id as usize] = UNPROCESSED;
        }
        self.hypot_list.clear();
        self.hypot_adjust_canon = false;
    }

    /// The side-by-side walk of the graph of candidate `cand_root` and the graph of
    /// canonical `canon_root`, in the order of a recursive depth-first walk (children in
    /// order, each subtree before the next sibling).
    fn is_equiv(&mut self, cand_root: u32, canon_root: u32) -> Result<bool> {
        let mut walk = std::mem::take(&mut self.walk);
        walk.clear();
        walk.push((cand_root, canon_root));
        let r = self.walk_equiv(&mut walk);
        self.walk = walk;
        r
    }

    fn walk_equiv(&mut self, walk: &mut Vec<(u32, u32)>) -> Result<bool> {
        while let Some((cand, canon)) = walk.pop() {
            // Out of budget: not proven equivalent, so the types stay apart.
            if !self.spend(1) {
                return Ok(false);
            }
            if self.resolve(cand) == self.resolve(canon) {
                continue;
            }
            let canon = self.resolve_fwd(canon)?;
            let hypot = self.hypot[canon as usize];
            if hypot != UNPROCESSED {
                if hypot == cand {
                    continue;
                }
                // Compilers sometimes emit identical copies of a type (an array, a struct)
                // for different members of the same struct: equal copies are no contradiction.
                // The check draws on the budget of the whole dedup, not a fresh one per
                // conflict (a walk with a conflict per member once cost vlen² work).
                let mut budget = self.budget;
                let identical = self.identical(hypot, cand, IDENTICAL_DEPTH, &mut budget)?;
                self.budget = budget;
                if identical {
                    continue;
                }
                return Ok(false);
            }
            self.hypot[canon as usize] = cand;
            self.hypot_list.push(canon);

            let (ct, kt) = (self.ty(cand)?, self.ty(canon)?);
            if self.sid(ct.name) != self.sid(kt.name) {
                return Ok(false);
            }
            let (ck, kk) = (ct.kind.kind(), kt.kind.kind());
            if (ck == Kind::Fwd || kk == Kind::Fwd) && ck != kk {
                let (real, fwd_union) = match (ct.kind, kt.kind) {
                    (TypeKind::Fwd { union }, _) => (kk, union),
                    (_, TypeKind::Fwd { union }) => (ck, union),
                    _ => return Ok(false),
                };
                let fwd_kind = if fwd_union { Kind::Union } else { Kind::Struct };
                if kk == Kind::Fwd && fwd_kind == real && canon < self.start {
                    self.hypot_adjust_canon = true;
                }
                if fwd_kind != real {
                    return Ok(false);
                }
                continue;
            }
            if ck != kk {
                return Ok(false);
            }
            let before = walk.len();
            match (ct.kind, kt.kind) {
                (TypeKind::Int { .. }, _)
                | (TypeKind::Fwd { .. }, _)
                | (TypeKind::Float { .. }, _) => {
                    if !self.equal_exact(cand, canon)? {
                        return Ok(false);
                    }
                }
                (TypeKind::Enum { .. }, _) | (TypeKind::Enum64 { .. }, _) => {
                    if !self.compat_enum(cand, canon)? {
                        return Ok(false);
                    }
                }
                (
                    TypeKind::Ptr(_)
                    | TypeKind::Typedef(_)
                    | TypeKind::Volatile(_)
                    | TypeKind::Const(_)
                    | TypeKind::Restrict(_)
                    | TypeKind::TypeTag { .. }
                    | TypeKind::Func { .. },
                    _,
                ) => {
                    if !self.equal_header(&ct, &kt) {
                        return Ok(false);
                    }
                    if let (Some(a), Some(b)) = (ct.kind.referenced(), kt.kind.referenced()) {
                        walk.push((raw_id(a), raw_id(b)));
                    }
                }
                (
                    TypeKind::Array {
                        elem: e1,
                        index: i1,
                        ..
                    },
                    TypeKind::Array {
                        elem: e2,
                        index: i2,
                        ..
                    },
                ) => {
                    if !self.equal_header(&ct, &kt) {
                        return Ok(false);
                    }
                    walk.push((raw_id(i1), raw_id(i2)));
                    walk.push((raw_id(e1), raw_id(e2)));
                }
                (TypeKind::Struct { .. } | TypeKind::Union { .. }, _) => {
                    let ms = self.members(cand);
                    if !self.spend(ms.len() as u64) || !self.shallow_equal(cand, canon)? {
                        return Ok(false);
                    }
                    let ns = self.members(canon);
                    for (a, b) in ms.iter().zip(ns) {
                        walk.push((raw_id(a.ty), raw_id(b.ty)));
                    }
                }
                (TypeKind::FuncProto { ret: r1, .. }, TypeKind::FuncProto { ret: r2, .. }) => {
                    let ps = self.params(cand);
                    if !self.spend(ps.len() as u64) || !self.equal_header(&ct, &kt) {
                        return Ok(false);
                    }
                    let qs = self.params(canon);
                    if !ps
                        .iter()
                        .zip(qs)
                        .all(|(a, b)| self.sid(a.name) == self.sid(b.name))
                    {
                        return Ok(false);
                    }
                    walk.push((raw_id(r1), raw_id(r2)));
                    for (a, b) in ps.iter().zip(qs) {
                        walk.push((raw_id(a.ty), raw_id(b.ty)));
                    }
                }
                // VAR, DATASEC and DECL_TAG are never part of a struct's graph.
                _ => return Ok(false),
            }
            // Visit children in order: the first child is popped first.
            walk[before..].reverse();
        }
        Ok(true)
    }

    /// True when `a` and `b` are identical type graphs up to `depth` levels (libbpf's
    /// `btf_dedup_identical_types`), spending one unit of `budget` per pair and one per
    /// item compared; false once the budget is spent.
    fn identical(&self, a: u32, b: u32, depth: u32, budget: &mut u64) -> Result<bool> {
        if a == b {
            return Ok(true);
        }
        let (ta, tb) = (self.ty(a)?, self.ty(b)?);
        let items = self.members(a).len() + self.params(a).len() + self.enum_values(a).len();
        match budget.checked_sub(1 + items as u64) {
            Some(left) if depth > 0 => *budget = left,
            _ => return Ok(false),
        }
        if ta.kind.kind() != tb.kind.kind() {
            return Ok(false);
        }
        use TypeKind as K;
        match (ta.kind, tb.kind) {
            (K::Void, _) => Ok(true),
            (K::Enum { .. } | K::Enum64 { .. }, _) => self.compat_enum(a, b),
            (K::Int { .. } | K::Fwd { .. } | K::Float { .. }, _) => Ok(self.equal_header(&ta, &tb)),
            (
                K::Ptr(_)
                | K::Typedef(_)
                | K::Volatile(_)
                | K::Const(_)
                | K::Restrict(_)
                | K::TypeTag { .. }
                | K::Func { .. },
                _,
            ) => {
                if !self.equal_header(&ta, &tb) {
                    return Ok(false);
                }
                match (ta.kind.referenced(), tb.kind.referenced()) {
                    (Some(x), Some(y)) => self.identical(raw_id(x), raw_id(y), depth - 1, budget),
                    _ => Ok(false),
                }
            }
            (
                K::Array {
                    elem: e1,
                    index: i1,
                    ..
                },
                K::Array {
                    elem: e2,
                    index: i2,
                    ..
                },
            ) => Ok(self.equal_header(&ta, &tb)
                && self.identical(raw_id(i1), raw_id(i2), depth - 1, budget)?
                && self.identical(raw_id(e1), raw_id(e2), depth - 1, budget)?),
            (K::Struct { .. } | K::Union { .. }, _) => {
                if !self.shallow_equal(a, b)? {
                    return Ok(false);
                }
                let ms = self.members(a);
                let ns = self.members(b);
                for (x, y) in ms.iter().zip(ns) {
                    if !self.identical(raw_id(x.ty), raw_id(y.ty), depth - 1, budget)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            (K::FuncProto { ret: r1, .. }, K::FuncProto { ret: r2, .. }) => {
                let ps = self.params(a);
                let qs = self.params(b);
                if !self.equal_header(&ta, &tb)
                    || !ps
                        .iter()
                        .zip(qs)
                        .all(|(x, y)| self.sid(x.name) == self.sid(y.name))
                    || !self.identical(raw_id(r1), raw_id(r2), depth - 1, budget)?
                {
                    return Ok(false);
                }
                for (x, y) in ps.iter().zip(qs) {
                    if !self.identical(raw_id(x.ty), raw_id(y.ty), depth - 1, budget)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Records what an equivalence walk established: `FWD`s resolve to their struct or
    /// union, and candidate-graph structs map onto canonical-graph structs that are
    /// canonical already.
    fn merge_hypot(&mut self) -> Result<()> {
        for i in 0..self.hypot_list.len() {
            let canon = self.hypot_list[i];
            let cand = self.hypot[canon as usize];
            let t_id = self.resolve(cand);
            let c_id = self.resolve(canon);
            let t_kind = self.ty(t_id)?.kind.kind();
            let c_kind = self.ty(c_id)?.kind.kind();
            // A FWD may resolve to a struct that is not mapped yet: once that struct is
            // mapped, the FWD follows it.
            if t_kind != Kind::Fwd && c_kind == Kind::Fwd && c_id >= self.start {
                self.map[c_id as usize] = t_id;
            }
            if self.hypot_adjust_canon {
                continue;
            }
            if t_kind == Kind::Fwd && c_kind != Kind::Fwd && t_id >= self.start {
                self.map[t_id as usize] = c_id;
            }
            if matches!(t_kind, Kind::Struct | Kind::Union)
                && c_kind != Kind::Fwd
                && self.is_mapped(c_id)
                && !self.is_mapped(t_id)
                && t_id >= self.start
            {
                self.map[t_id as usize] = c_id;
            }
        }
        Ok(())
    }

    /// Phase 4: a `FWD` still canonical resolves to the only canonical struct (union) of
    /// its name, if there is exactly one.
    fn resolve_fwds(&mut self) -> Result<()> {
        /// Marks a name held by more than one struct (union).
        const AMBIGUOUS: u32 = 0;
        let mut names: HashMap<(bool, u32), u32> = HashMap::new();
        for id in 1..self.n {
            let t = self.ty(id)?;
            let union = match t.kind {
                TypeKind::Struct { .. } => false,
                TypeKind::Union { .. } => true,
                _ => continue,
            };
            if t.name.0 == 0 || self.map[id as usize] != id {
                continue;
            }
            names
                .entry((union, self.sid(t.name)))
                .and_modify(|v| *v = AMBIGUOUS)
                .or_insert(id);
        }
        for id in self.own_ids() {
            let t = self.ty(id)?;
            let TypeKind::Fwd { union } = t.kind else {
                continue;
            };
            if self.map[id as usize] != id {
                continue;
            }
            match names.get(&(union, self.sid(t.name))) {
                Some(&AMBIGUOUS) | None => {}
                Some(&def) => self.map[id as usize] = def,
            }
        }
        Ok(())
    }

    /// The `i`-th type that reference type `id` refers to (array: element, index;
    /// prototype: return type, parameters), or `None` past the last.
    fn nth_target(&self, id: u32, i: usize) -> Result<Option<u32>> {
        let t = self.ty(id)?;
        let target = match t.kind {
            TypeKind::Array { elem, index, .. } => [elem, index].get(i).copied(),
            TypeKind::FuncProto { ret, .. } => match i.checked_sub(1) {
                None => Some(ret),
                Some(p) => self.params(id).get(p).map(|p| p.ty),
            },
            k => k.referenced().filter(|_| i == 0),
        };
        match target.map(raw_id) {
            Some(target) if target >= self.n => Err(BtfError::TypeIdOutOfRange {
                type_id: id,
                referenced: target,
                n_types: self.n,
            }),
            target => Ok(target),
        }
    }

    /// Phase 5: reference types, each after the types it refers to.
    fn ref_types(&mut self) -> Result<()> {
        let mut cands = std::mem::take(&mut self.cands);
        // Frames of the explicit depth-first walk: a type and how many of its targets
        // have been looked at.
        let mut stack: Vec<(u32, usize)> = Vec::new();
        for root in self.own_ids() {
            if self.map[root as usize] != UNPROCESSED {
                continue;
            }
            self.map[root as usize] = IN_PROGRESS;
            stack.push((root, 0));
            while let Some(&(id, next)) = stack.last() {
                if let Some(target) = self.nth_target(id, next)? {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    match self.map[target as usize] {
                        IN_PROGRESS => {
                            return Err(BtfError::ReferenceCycle {
                                type_id: target,
                                limit: self.n,
                            })
                        }
                        UNPROCESSED => {
                            self.map[target as usize] = IN_PROGRESS;
                            stack.push((target, 0));
                        }
                        _ => {}
                    }
                    continue;
                }
                stack.pop();
                let h = self.hash(id)?;
                self.candidates(h, &mut cands);
                let mut new_id = id;
                for &cand in &cands {
                    if !self.spend(self.params(id).len() as u64) {
                        break;
                    }
                    if self.equal_exact(id, cand)? {
                        new_id = cand;
                        break;
                    }
                }
                self.map[id as usize] = new_id;
                if new_id == id {
                    self.table.add(h, id);
                }
            }
        }
        self.cands = cands;
        Ok(())
    }

    /// Phase 6: the canonical types in their original order, with every reference remapped,
    /// and the old → new id map.
    fn compact(self) -> Result<Deduped> {
        let btf = self.btf;
        let mut new_ids = vec![UNPROCESSED; self.n as usize];
        for id in 0..self.start.max(1).min(self.n) {
            new_ids[id as usize] = id;
        }
        let mut next = self.start.max(1);
        for id in self.own_ids() {
            if self.map[id as usize] == id {
                new_ids[id as usize] = next;
                next += 1;
            }
        }
        let mut map = Vec::with_capacity(self.n as usize);
        for id in 0..self.n {
            let canon = self.resolve(id);
            let new = new_ids[canon as usize];
            if new == UNPROCESSED {
                return Err(BtfError::ReferenceCycle {
                    type_id: id,
                    limit: self.n,
                });
            }
            map.push(new);
        }

        let mut out = match btf.base() {
            Some(base) => Btf::new_split(base.clone()),
            None => Btf::new(btf.endian()),
        };
        let remap = |t: TypeId| type_id(map[raw_id(t) as usize]);
        for id in self.own_ids() {
            if self.map[id as usize] != id {
                continue;
            }
            let old = type_id(id);
            // Checks that the type exists (a bad id is an error, not a panic).
            self.ty(id)?;
            out.push_copy(btf, old, &mut |t| Ok(remap(t)), &Strings::ByText)?;
        }
        out.names = Default::default();
        out.ptr_size.take();
        out.shrink_to_fit();
        Ok(Deduped {
            btf: out,
            map: map.into_iter().map(type_id).collect(),
            budget_exhausted: self.budget == 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::btf::{IntEncoding, Linkage, NewMember};
    use crate::Endian;

    fn raw(d: &Deduped, id: TypeId) -> u32 {
        raw_id(d.map[raw_id(id) as usize])
    }

    /// `struct list { int v; struct list *next; }` twice, each through its own pointer:
    /// the cycle through the pointer is accepted and the copies merge.
    #[test]
    fn cyclic_structs_merge() {
        let mut btf = Btf::new(Endian::Little);
        let mut lists = Vec::new();
        for _ in 0..2 {
            let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
            let ptr = btf.add_ptr(int).unwrap();
            let list = btf
                .add_struct(
                    "list",
                    16,
                    &[NewMember::new("v", int, 0), NewMember::new("next", ptr, 64)],
                )
                .unwrap();
            btf.ty_mut(ptr).unwrap().kind = TypeKind::Ptr(list);
            lists.push((int, ptr, list));
        }
        let d = dedup(&btf).unwrap();
        assert_eq!(d.btf.n_types(), 4);
        let ((i1, p1, l1), (i2, p2, l2)) = (lists[0], lists[1]);
        assert_eq!(raw(&d, i1), raw(&d, i2));
        assert_eq!(raw(&d, p1), raw(&d, p2));
        assert_eq!(raw(&d, l1), raw(&d, l2));
        assert_eq!(d.btf.str_len(), "\0int\0list\0v\0next\0".len() as u32);
    }

    /// Same shape, different member type behind the pointer: two structs.
    #[test]
    fn different_graphs_stay_apart() {
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let long = btf.add_int("long", 8, IntEncoding::SIGNED, 64).unwrap();
        let pi = btf.add_ptr(int).unwrap();
        let pl = btf.add_ptr(long).unwrap();
        let a = btf
            .add_struct("s", 8, &[NewMember::new("p", pi, 0)])
            .unwrap();
        let b = btf
            .add_struct("s", 8, &[NewMember::new("p", pl, 0)])
            .unwrap();
        let d = dedup(&btf).unwrap();
        assert_eq!(d.btf.n_types(), btf.n_types());
        assert_ne!(raw(&d, a), raw(&d, b));
    }

    #[test]
    fn enum_forward_declaration_merges_into_the_full_enum() {
        let mut btf = Btf::new(Endian::Little);
        let fwd = btf.add_enum("state", 4, false, &[]).unwrap();
        let full = btf
            .add_enum("state", 4, false, &[("A", 1), ("B", 2)])
            .unwrap();
        let fwd2 = btf.add_enum("state", 4, false, &[]).unwrap();
        let other = btf.add_enum("state", 4, false, &[("A", 1)]).unwrap();
        let d = dedup(&btf).unwrap();
        assert_eq!(raw(&d, fwd), raw(&d, full));
        assert_eq!(raw(&d, fwd2), raw(&d, full));
        assert_ne!(raw(&d, other), raw(&d, full));
        assert_eq!(d.btf.n_types(), 3);
        assert_eq!(d.btf.enum_values(d.map[raw_id(fwd) as usize]).len(), 2);
    }

    #[test]
    fn funcs_differ_by_linkage_and_vars_merge() {
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let p1 = btf.add_func_proto(int, &[("x", int)]).unwrap();
        let p2 = btf.add_func_proto(int, &[("x", int)]).unwrap();
        let p3 = btf.add_func_proto(int, &[("y", int)]).unwrap();
        let f1 = btf.add_func("f", p1, Linkage::Global).unwrap();
        let f2 = btf.add_func("f", p2, Linkage::Global).unwrap();
        let f3 = btf.add_func("f", p2, Linkage::Extern).unwrap();
        let v1 = btf.add_var("v", int, Linkage::Global).unwrap();
        let v2 = btf.add_var("v", int, Linkage::Global).unwrap();
        let sec = btf
            .add_datasec(
                ".data",
                8,
                &[
                    crate::btf::VarSecinfo {
                        ty: v1,
                        offset: 0,
                        size: 4,
                    },
                    crate::btf::VarSecinfo {
                        ty: v2,
                        offset: 4,
                        size: 4,
                    },
                ],
            )
            .unwrap();
        let d = dedup(&btf).unwrap();
        assert_eq!(raw(&d, p1), raw(&d, p2));
        assert_ne!(raw(&d, p1), raw(&d, p3));
        assert_eq!(raw(&d, f1), raw(&d, f2));
        assert_ne!(raw(&d, f1), raw(&d, f3));
        assert_eq!(raw(&d, v1), raw(&d, v2));
        let vars = d.btf.datasec_vars(d.map[raw_id(sec) as usize]);
        assert_eq!(vars.len(), 2);
        assert!(vars.iter().all(|v| raw_id(v.ty) == raw(&d, v1)));
    }

    #[test]
    fn reference_cycles_without_a_struct_are_errors() {
        let mut btf = Btf::new(Endian::Little);
        let a = btf.add_ptr(type_id(0)).unwrap();
        let b = btf.add_type("", TypeKind::Const(a)).unwrap();
        btf.ty_mut(a).unwrap().kind = TypeKind::Ptr(b);
        assert!(matches!(dedup(&btf), Err(BtfError::ReferenceCycle { .. })));
        // A reference past the last type.
        btf.ty_mut(a).unwrap().kind = TypeKind::Ptr(type_id(99));
        assert!(matches!(
            dedup(&btf),
            Err(BtfError::TypeIdOutOfRange { referenced: 99, .. })
        ));
    }

    /// Split BTF: own types collapse onto base types; base types never change.
    #[test]
    fn split_btf_dedups_against_its_base() {
        let mut base = Btf::new(Endian::Little);
        let int = base.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let fwd = base.add_type("s", TypeKind::Fwd { union: false }).unwrap();
        let pint = base.add_ptr(int).unwrap();
        let base = Arc::new(base);
        let mut split = Btf::new_split(base.clone());
        let int2 = split.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let p2 = split.add_ptr(int2).unwrap();
        let s = split
            .add_struct("s", 4, &[NewMember::new("x", int2, 0)])
            .unwrap();
        let d = dedup(&split).unwrap();
        assert_eq!(d.map.len(), split.n_types() as usize);
        assert_eq!(raw(&d, int2), raw_id(int));
        assert_eq!(raw(&d, p2), raw_id(pint));
        assert_eq!(raw(&d, fwd), raw_id(fwd), "base types stay");
        assert_eq!(d.btf.n_types(), base.n_types() + 1);
        assert_eq!(d.btf.first_own_id(), base.n_types());
        let s_new = d.map[raw_id(s) as usize];
        assert_eq!(d.btf.members(s_new).get(0).unwrap().ty, int);
        let again = Btf::parse_split(&d.btf.to_bytes(), base).unwrap();
        assert_eq!(again, d.btf);
    }
}

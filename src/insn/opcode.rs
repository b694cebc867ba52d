//! The typed fields of an eBPF instruction: registers, classes, sizes, operations.
//!
//! Every field the public model exposes is one of these enums, never a bare integer. Each
//! enum converts to and from the bit pattern it occupies in the wire format (`code`,
//! `dst_reg`/`src_reg` nibbles, `imm` of atomics), so the decoder and encoder share one table.
//! Conversions from wire bits return `None` for patterns the ISA does not define; they never
//! panic and cost a `match`.

use core::fmt;

/// One of the eleven eBPF registers.
///
/// `R10` is the read-only frame pointer; whether an instruction may write it is the
/// verifier's business, not the codec's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reg {
    /// Return value and scratch.
    R0 = 0,
    /// First argument.
    R1 = 1,
    /// Second argument.
    R2 = 2,
    /// Third argument.
    R3 = 3,
    /// Fourth argument.
    R4 = 4,
    /// Fifth argument.
    R5 = 5,
    /// Callee-saved.
    R6 = 6,
    /// Callee-saved.
    R7 = 7,
    /// Callee-saved.
    R8 = 8,
    /// Callee-saved.
    R9 = 9,
    /// Frame pointer (read-only).
    R10 = 10,
}

impl Reg {
    /// All registers in number order.
    pub const ALL: [Reg; 11] = [
        Reg::R0,
        Reg::R1,
        Reg::R2,
        Reg::R3,
        Reg::R4,
        Reg::R5,
        Reg::R6,
        Reg::R7,
        Reg::R8,
        Reg::R9,
        Reg::R10,
    ];

    /// The register with wire number `n`, or `None` above 10.
    pub fn from_u8(n: u8) -> Option<Reg> {
        Reg::ALL.get(usize::from(n)).copied()
    }

    /// The wire number (0..=10).
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Reg {
    /// Prints the 64-bit name (`r3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.number())
    }
}

/// The instruction class: the low three bits of the opcode byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Class {
    /// `BPF_LD`: `ld_imm64` and the legacy packet loads.
    Ld = 0x00,
    /// `BPF_LDX`: loads from memory into a register.
    Ldx = 0x01,
    /// `BPF_ST`: stores of an immediate.
    St = 0x02,
    /// `BPF_STX`: stores of a register and atomics.
    Stx = 0x03,
    /// `BPF_ALU`: 32-bit arithmetic.
    Alu = 0x04,
    /// `BPF_JMP`: 64-bit compares, calls, exit.
    Jmp = 0x05,
    /// `BPF_JMP32`: 32-bit compares and `gotol`.
    Jmp32 = 0x06,
    /// `BPF_ALU64`: 64-bit arithmetic.
    Alu64 = 0x07,
}

impl Class {
    /// The class of an opcode byte (every byte has one).
    pub fn of(code: u8) -> Class {
        match code & 0x07 {
            0x00 => Class::Ld,
            0x01 => Class::Ldx,
            0x02 => Class::St,
            0x03 => Class::Stx,
            0x04 => Class::Alu,
            0x05 => Class::Jmp,
            0x06 => Class::Jmp32,
            _ => Class::Alu64,
        }
    }

    /// The class bits.
    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// Width of an arithmetic instruction: which of the two ALU classes it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluClass {
    /// `BPF_ALU`: operates on the low 32 bits (`wN`) and zero-extends.
    Alu32,
    /// `BPF_ALU64`: operates on all 64 bits (`rN`).
    Alu64,
}

impl AluClass {
    /// The instruction class this width is encoded with.
    pub fn class(self) -> Class {
        match self {
            AluClass::Alu32 => Class::Alu,
            AluClass::Alu64 => Class::Alu64,
        }
    }
}

/// Width of a conditional jump: which of the two jump classes it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpClass {
    /// `BPF_JMP`: compares all 64 bits.
    Jmp,
    /// `BPF_JMP32`: compares the low 32 bits.
    Jmp32,
}

impl JmpClass {
    /// The instruction class this width is encoded with.
    pub fn class(self) -> Class {
        match self {
            JmpClass::Jmp => Class::Jmp,
            JmpClass::Jmp32 => Class::Jmp32,
        }
    }
}

/// Access size of a load or store (`BPF_SIZE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// One byte (`BPF_B`).
    B,
    /// Two bytes (`BPF_H`).
    H,
    /// Four bytes (`BPF_W`).
    W,
    /// Eight bytes (`BPF_DW`).
    DW,
}

impl Size {
    /// The size of the opcode byte's size field.
    pub fn of(code: u8) -> Size {
        match code & 0x18 {
            0x00 => Size::W,
            0x08 => Size::H,
            0x10 => Size::B,
            _ => Size::DW,
        }
    }

    /// The size bits (`0x00`, `0x08`, `0x10`, `0x18`).
    pub fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }

    /// Number of bytes accessed.
    pub fn bytes(self) -> u8 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// The C type name llvm-objdump prints (`u8` … `u64`).
    pub(crate) fn unsigned_name(self) -> &'static str {
        match self {
            Size::B => "u8",
            Size::H => "u16",
            Size::W => "u32",
            Size::DW => "u64",
        }
    }

    /// The signed C type name llvm-objdump prints for `ldsx` (`s8` … `s64`).
    pub(crate) fn signed_name(self) -> &'static str {
        match self {
            Size::B => "s8",
            Size::H => "s16",
            Size::W => "s32",
            Size::DW => "s64",
        }
    }
}

/// Addressing mode of a load or store (`BPF_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `BPF_IMM` (only `ld_imm64`).
    Imm,
    /// `BPF_ABS`: legacy packet load at a constant offset.
    Abs,
    /// `BPF_IND`: legacy packet load at a register offset.
    Ind,
    /// `BPF_MEM`: ordinary memory access.
    Mem,
    /// `BPF_MEMSX`: sign-extending load.
    MemSx,
    /// `BPF_ATOMIC`: atomic read-modify-write, load-acquire, store-release.
    Atomic,
}

impl Mode {
    /// The mode of an opcode byte, or `None` for `0xa0` and `0xe0` (classic BPF's `BPF_MSH`
    /// and an unassigned pattern).
    pub fn of(code: u8) -> Option<Mode> {
        match code & 0xe0 {
            0x00 => Some(Mode::Imm),
            0x20 => Some(Mode::Abs),
            0x40 => Some(Mode::Ind),
            0x60 => Some(Mode::Mem),
            0x80 => Some(Mode::MemSx),
            0xc0 => Some(Mode::Atomic),
            _ => None,
        }
    }

    /// The mode bits.
    pub fn bits(self) -> u8 {
        match self {
            Mode::Imm => 0x00,
            Mode::Abs => 0x20,
            Mode::Ind => 0x40,
            Mode::Mem => 0x60,
            Mode::MemSx => 0x80,
            Mode::Atomic => 0xc0,
        }
    }
}

/// Second operand of an ALU or conditional-jump instruction (`BPF_K` / `BPF_X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// `BPF_K`: the 32-bit immediate, sign-extended for 64-bit operations.
    Imm(i32),
    /// `BPF_X`: the source register.
    Reg(Reg),
}

/// Binary arithmetic operation of `BPF_ALU` / `BPF_ALU64`.
///
/// The signed variants share an opcode with their unsigned twin and are told apart by
/// `off = 1` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `dst += src`.
    Add,
    /// `dst -= src`.
    Sub,
    /// `dst *= src`.
    Mul,
    /// Unsigned `dst /= src`.
    Div,
    /// Signed `dst s/= src` (`BPF_DIV`, off 1).
    SDiv,
    /// `dst |= src`.
    Or,
    /// `dst &= src`.
    And,
    /// `dst <<= src`.
    Lsh,
    /// Logical `dst >>= src`.
    Rsh,
    /// Unsigned `dst %= src`.
    Mod,
    /// Signed `dst s%= src` (`BPF_MOD`, off 1).
    SMod,
    /// `dst ^= src`.
    Xor,
    /// `dst = src`.
    Mov,
    /// Arithmetic `dst s>>= src`.
    Arsh,
}

impl AluOp {
    /// The operation bits (`BPF_OP`) and the `off` value that selects this operation.
    pub fn bits(self) -> (u8, i16) {
        match self {
            AluOp::Add => (0x00, 0),
            AluOp::Sub => (0x10, 0),
            AluOp::Mul => (0x20, 0),
            AluOp::Div => (0x30, 0),
            AluOp::SDiv => (0x30, 1),
            AluOp::Or => (0x40, 0),
            AluOp::And => (0x50, 0),
            AluOp::Lsh => (0x60, 0),
            AluOp::Rsh => (0x70, 0),
            AluOp::Mod => (0x90, 0),
            AluOp::SMod => (0x90, 1),
            AluOp::Xor => (0xa0, 0),
            AluOp::Mov => (0xb0, 0),
            AluOp::Arsh => (0xc0, 0),
        }
    }

    /// The operation for `BPF_OP` bits and `off`, or `None` (also for `neg`, `end`, and the
    /// undefined `0xe0`/`0xf0`, which are not binary operations).
    #[inline(always)]
    pub fn from_bits(op: u8, off: i16) -> Option<AluOp> {
        Some(match (op, off) {
            (0x00, 0) => AluOp::Add,
            (0x10, 0) => AluOp::Sub,
            (0x20, 0) => AluOp::Mul,
            (0x30, 0) => AluOp::Div,
            (0x30, 1) => AluOp::SDiv,
            (0x40, 0) => AluOp::Or,
            (0x50, 0) => AluOp::And,
            (0x60, 0) => AluOp::Lsh,
            (0x70, 0) => AluOp::Rsh,
            (0x90, 0) => AluOp::Mod,
            (0x90, 1) => AluOp::SMod,
            (0xa0, 0) => AluOp::Xor,
            (0xb0, 0) => AluOp::Mov,
            (0xc0, 0) => AluOp::Arsh,
            _ => return None,
        })
    }

    /// The assignment operator llvm-objdump prints (`+=`, `s/=`, `=`…).
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            AluOp::Add => "+=",
            AluOp::Sub => "-=",
            AluOp::Mul => "*=",
            AluOp::Div => "/=",
            AluOp::SDiv => "s/=",
            AluOp::Or => "|=",
            AluOp::And => "&=",
            AluOp::Lsh => "<<=",
            AluOp::Rsh => ">>=",
            AluOp::Mod => "%=",
            AluOp::SMod => "s%=",
            AluOp::Xor => "^=",
            AluOp::Mov => "=",
            AluOp::Arsh => "s>>=",
        }
    }
}

/// Condition of a conditional jump in `BPF_JMP` / `BPF_JMP32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpOp {
    /// `==`.
    Eq,
    /// Unsigned `>`.
    Gt,
    /// Unsigned `>=`.
    Ge,
    /// `dst & src != 0`.
    Set,
    /// `!=`.
    Ne,
    /// Signed `>`.
    SGt,
    /// Signed `>=`.
    SGe,
    /// Unsigned `<`.
    Lt,
    /// Unsigned `<=`.
    Le,
    /// Signed `<`.
    SLt,
    /// Signed `<=`.
    SLe,
}

impl JmpOp {
    /// The operation bits (`BPF_OP`).
    pub fn bits(self) -> u8 {
        match self {
            JmpOp::Eq => 0x10,
            JmpOp::Gt => 0x20,
            JmpOp::Ge => 0x30,
            JmpOp::Set => 0x40,
            JmpOp::Ne => 0x50,
            JmpOp::SGt => 0x60,
            JmpOp::SGe => 0x70,
            JmpOp::Lt => 0xa0,
            JmpOp::Le => 0xb0,
            JmpOp::SLt => 0xc0,
            JmpOp::SLe => 0xd0,
        }
    }

    /// The condition for `BPF_OP` bits, or `None` for `ja`, `call`, `exit`, `jcond` and the
    /// undefined `0xf0`.
    #[inline]
    pub fn from_bits(op: u8) -> Option<JmpOp> {
        Some(match op {
            0x10 => JmpOp::Eq,
            0x20 => JmpOp::Gt,
            0x30 => JmpOp::Ge,
            0x40 => JmpOp::Set,
            0x50 => JmpOp::Ne,
            0x60 => JmpOp::SGt,
            0x70 => JmpOp::SGe,
            0xa0 => JmpOp::Lt,
            0xb0 => JmpOp::Le,
            0xc0 => JmpOp::SLt,
            0xd0 => JmpOp::SLe,
            _ => return None,
        })
    }

    /// The comparison operator llvm-objdump prints.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            JmpOp::Eq => "==",
            JmpOp::Gt => ">",
            JmpOp::Ge => ">=",
            JmpOp::Set => "&",
            JmpOp::Ne => "!=",
            JmpOp::SGt => "s>",
            JmpOp::SGe => "s>=",
            JmpOp::Lt => "<",
            JmpOp::Le => "<=",
            JmpOp::SLt => "s<",
            JmpOp::SLe => "s<=",
        }
    }
}

/// Read-modify-write operation of a `BPF_STX | BPF_ATOMIC` instruction (its `imm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `lock *p += src` (imm `0x00`).
    Add,
    /// `lock *p |= src` (imm `0x40`).
    Or,
    /// `lock *p &= src` (imm `0x50`).
    And,
    /// `lock *p ^= src` (imm `0xa0`).
    Xor,
    /// `src = atomic_fetch_add(p, src)` (imm `0x01`).
    FetchAdd,
    /// `src = atomic_fetch_or(p, src)` (imm `0x41`).
    FetchOr,
    /// `src = atomic_fetch_and(p, src)` (imm `0x51`).
    FetchAnd,
    /// `src = atomic_fetch_xor(p, src)` (imm `0xa1`).
    FetchXor,
    /// `src = xchg(p, src)` (imm `0xe1`, `BPF_XCHG | BPF_FETCH`).
    Xchg,
    /// `r0 = cmpxchg(p, r0, src)` (imm `0xf1`, `BPF_CMPXCHG | BPF_FETCH`).
    Cmpxchg,
}

impl AtomicOp {
    /// The `imm` value that encodes this operation.
    pub fn imm(self) -> i32 {
        match self {
            AtomicOp::Add => 0x00,
            AtomicOp::Or => 0x40,
            AtomicOp::And => 0x50,
            AtomicOp::Xor => 0xa0,
            AtomicOp::FetchAdd => 0x01,
            AtomicOp::FetchOr => 0x41,
            AtomicOp::FetchAnd => 0x51,
            AtomicOp::FetchXor => 0xa1,
            AtomicOp::Xchg => 0xe1,
            AtomicOp::Cmpxchg => 0xf1,
        }
    }

    /// The operation encoded by `imm`, or `None` (load-acquire and store-release are not
    /// read-modify-write operations and are decoded separately).
    pub fn from_imm(imm: i32) -> Option<AtomicOp> {
        Some(match imm {
            0x00 => AtomicOp::Add,
            0x40 => AtomicOp::Or,
            0x50 => AtomicOp::And,
            0xa0 => AtomicOp::Xor,
            0x01 => AtomicOp::FetchAdd,
            0x41 => AtomicOp::FetchOr,
            0x51 => AtomicOp::FetchAnd,
            0xa1 => AtomicOp::FetchXor,
            0xe1 => AtomicOp::Xchg,
            0xf1 => AtomicOp::Cmpxchg,
            _ => return None,
        })
    }
}

/// `imm` of a `BPF_STX | BPF_ATOMIC` load-acquire (`BPF_LOAD_ACQ`).
pub const LOAD_ACQ: i32 = 0x100;
/// `imm` of a `BPF_STX | BPF_ATOMIC` store-release (`BPF_STORE_REL`).
pub const STORE_REL: i32 = 0x110;

/// Byte order a `BPF_END` instruction in the `BPF_ALU` class converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `BPF_TO_LE` (`le16`/`le32`/`le64`; source bit `K`).
    Le,
    /// `BPF_TO_BE` (`be16`/`be32`/`be64`; source bit `X`).
    Be,
}

/// Width of a byte swap (`imm` of `BPF_END`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwapBits {
    /// 16 bits, the rest zeroed.
    B16,
    /// 32 bits, the rest zeroed.
    B32,
    /// All 64 bits.
    B64,
}

impl SwapBits {
    /// The `imm` value (16, 32 or 64).
    pub fn imm(self) -> i32 {
        match self {
            SwapBits::B16 => 16,
            SwapBits::B32 => 32,
            SwapBits::B64 => 64,
        }
    }

    /// The width for an `imm` value, or `None`.
    pub fn from_imm(imm: i32) -> Option<SwapBits> {
        match imm {
            16 => Some(SwapBits::B16),
            32 => Some(SwapBits::B32),
            64 => Some(SwapBits::B64),
            _ => None,
        }
    }
}

/// Source width of a sign-extending move (`movsx`, the `off` of `BPF_MOV | BPF_X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtBits {
    /// From 8 bits (`off = 8`).
    B8,
    /// From 16 bits (`off = 16`).
    B16,
    /// From 32 bits (`off = 32`, `BPF_ALU64` only).
    B32,
}

impl ExtBits {
    /// The `off` value.
    pub fn off(self) -> i16 {
        match self {
            ExtBits::B8 => 8,
            ExtBits::B16 => 16,
            ExtBits::B32 => 32,
        }
    }

    /// The width for an `off` value, or `None`.
    pub fn from_off(off: i16) -> Option<ExtBits> {
        match off {
            8 => Some(ExtBits::B8),
            16 => Some(ExtBits::B16),
            32 => Some(ExtBits::B32),
            _ => None,
        }
    }
}

/// What the kernel makes of an `ld_imm64`'s immediate: its `src_reg` (`BPF_PSEUDO_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PseudoKind {
    /// `0`: a plain 64-bit constant.
    None,
    /// `1` `BPF_PSEUDO_MAP_FD`: imm low = map fd.
    MapFd,
    /// `2` `BPF_PSEUDO_MAP_VALUE`: imm low = map fd, imm high = offset into the value.
    MapValue,
    /// `3` `BPF_PSEUDO_BTF_ID`: imm low = BTF type id of a kernel variable, imm high = module
    /// BTF fd (0 for vmlinux).
    BtfId,
    /// `4` `BPF_PSEUDO_FUNC`: imm low = relative instruction offset of a callback.
    Func,
    /// `5` `BPF_PSEUDO_MAP_IDX`: imm low = index into the `fd_array`.
    MapIdx,
    /// `6` `BPF_PSEUDO_MAP_IDX_VALUE`: imm low = `fd_array` index, imm high = value offset.
    MapIdxValue,
}

impl PseudoKind {
    /// The `src_reg` value.
    pub fn src_reg(self) -> u8 {
        match self {
            PseudoKind::None => 0,
            PseudoKind::MapFd => 1,
            PseudoKind::MapValue => 2,
            PseudoKind::BtfId => 3,
            PseudoKind::Func => 4,
            PseudoKind::MapIdx => 5,
            PseudoKind::MapIdxValue => 6,
        }
    }

    /// The kind for a `src_reg` value, or `None` above 6.
    pub fn from_src_reg(src: u8) -> Option<PseudoKind> {
        Some(match src {
            0 => PseudoKind::None,
            1 => PseudoKind::MapFd,
            2 => PseudoKind::MapValue,
            3 => PseudoKind::BtfId,
            4 => PseudoKind::Func,
            5 => PseudoKind::MapIdx,
            6 => PseudoKind::MapIdxValue,
            _ => return None,
        })
    }
}

/// What a `call` (`BPF_JMP | BPF_CALL`, source `K`) calls: its `src_reg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `0`: a helper, `imm` is the helper id.
    Helper,
    /// `1` `BPF_PSEUDO_CALL`: a BPF function, `imm` is the offset in instructions from the
    /// next instruction.
    Local,
    /// `2` `BPF_PSEUDO_KFUNC_CALL`: a kernel function, `imm` is its BTF id and `off` the
    /// index of its module's BTF fd in `fd_array` (0 for vmlinux).
    Kfunc,
}

impl CallKind {
    /// The `src_reg` value.
    pub fn src_reg(self) -> u8 {
        match self {
            CallKind::Helper => 0,
            CallKind::Local => 1,
            CallKind::Kfunc => 2,
        }
    }

    /// The kind for a `src_reg` value, or `None`.
    pub fn from_src_reg(src: u8) -> Option<CallKind> {
        match src {
            0 => Some(CallKind::Helper),
            1 => Some(CallKind::Local),
            2 => Some(CallKind::Kfunc),
            _ => None,
        }
    }
}

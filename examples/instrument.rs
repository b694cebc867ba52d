//! Counts the calls of every function of a BPF object in a new BTF-defined map.
//!
//! ```text
//! cargo run --example instrument -- IN.bpf.o OUT.bpf.o
//! ```
//!
//! Every function with a body gets, before its first instruction, the equivalent of
//! `if ((v = bpf_map_lookup_elem(&call_counts, &k))) __sync_fetch_and_add(v, 1);` with `k`
//! the function's index in the map (printed). Its arguments (as many as its BTF prototype
//! has, at most four) are kept in R6..R9 around the helper call: at a function's entry those
//! are not written yet (the kernel gives each frame its own), and neither is the stack slot
//! that holds the key. The inserted instructions carry the origin `instrument` and the
//! function's first source line. The output loads with bpfir and with libbpf.

use std::error::Error;

use bpfir::abi::{Helper, MapType};
use bpfir::insn::{Reg::*, Size};
use bpfir::ir::build::*;
use bpfir::ir::{FuncCursor, FuncId, MapId, MapSlot, Module, NewMap};

const ARRAY: MapType = MapType::ARRAY;

/// Adds the counter map `call_counts` and the counting code; returns the map and the
/// functions in key order (the counter of `funcs[k]` is at key `k`).
pub fn instrument(m: &mut Module) -> Result<(MapId, Vec<FuncId>), Box<dyn Error>> {
    // The rewrite: 15 statements.
    let funcs: Vec<FuncId> = m
        .functions()
        .filter(|f| f.1.n_insns() > 0)
        .map(|f| f.0)
        .collect();
    let counts = NewMap::new("call_counts", ARRAY, funcs.len() as u32).with_key(MapSlot::Uint(4));
    let (map, origin) = (
        m.add_btf_map(&counts.with_value(MapSlot::Uint(8)))?,
        m.add_origin("instrument"),
    );
    for (k, &f) in funcs.iter().enumerate() {
        let n_args = m
            .n_params(f)
            .filter(|&n| n <= 4)
            .ok_or("no BTF prototype, or 5 arguments")?;
        let saved = &[(R6, R1), (R7, R2), (R8, R3), (R9, R4)][..n_args];
        let mut cur = FuncCursor::new(m, f)?.with_origin(origin);
        let first = cur.goto_first_insn().ok_or("empty function")?;
        cur.use_current_line();
        cur.insert_all(saved.iter().map(|&(s, a)| mov64_reg(s, a)))?;
        cur.insert_all([
            st(Size::W, R10, -4, k as i32).into(),
            ld_map(R1, map),
            mov64_reg(R2, R10).into(),
        ])?;
        cur.insert_all([add64_imm(R2, -4), call_helper(Helper::MapLookupElem)])?;
        cur.insert_all(saved.iter().map(|&(s, a)| mov64_reg(a, s)))?;
        cur.insert_all([
            jeq_imm(R0, 0, first),
            mov64_imm(R6, 1).into(),
            atomic_add64(R0, 0, R6).into(),
        ])?;
    }
    Ok((map, funcs))
}

#[allow(dead_code)] // the tests include this file for `instrument` alone
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = &args[..] else {
        return Err("usage: instrument IN.bpf.o OUT.bpf.o".into());
    };
    let mut m = Module::read(&std::fs::read(input)?)?;
    let (_, funcs) = instrument(&mut m)?;
    m.verify()?;
    std::fs::write(output, bpfir::write::write_object(&m)?)?;
    for (k, f) in funcs.iter().enumerate() {
        println!("call_counts[{k}] = calls of {}", m.function(*f).name);
    }
    Ok(())
}

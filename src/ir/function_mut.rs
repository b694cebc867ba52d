//! [`FunctionMut`]: what [`Module::function_mut`](super::Module::function_mut) hands out to
//! rename or re-type a function, never its body.
//!
//! A [`Function`] carries where its body is in the layout (first and last instruction, count),
//! and only the layout operations may change that: the layout's links and each instruction's
//! function must agree with it. A whole `Function` assigned through a `&mut Function` (a
//! clone of another function, a new one) would bring another body's ends along: the function
//! would claim instructions that say they belong elsewhere (or lose its own), and the next
//! layout operation would link an instruction after itself, a cycle no walk of the body
//! leaves. So the guard lends a copy of the function, and writes back every field but the
//! body when it is dropped.
//!
//! Invariant: the function in the module keeps its body's ends and count whatever is done
//! through the guard. Leaking the guard (`mem::forget`) loses the edits and the function's
//! name and section (left empty), never the body. Costs: O(1), no allocation (the name and
//! section are moved out and back).

use std::ops::{Deref, DerefMut};

use super::Function;

/// A function of a module, lent for editing everything but its body; the edits land in the
/// module when the guard is dropped.
///
/// Only the layout operations move a body's ends and count: a whole [`Function`] assigned
/// through the guard (another function's clone, a new one) leaves the module's function
/// with its own body. Leaking the guard (`mem::forget`) loses the edits and the function's
/// name and section (left empty), never the body. O(1), no allocation.
#[derive(Debug)]
pub struct FunctionMut<'a> {
    /// The function in the module (name and section moved out into `edit` meanwhile).
    slot: &'a mut Function,
    /// What the caller sees and edits.
    edit: Function,
}

impl<'a> FunctionMut<'a> {
    pub(super) fn new(slot: &'a mut Function) -> Self {
        let edit = Function {
            name: std::mem::take(&mut slot.name),
            section: std::mem::take(&mut slot.section),
            ..*slot
        };
        FunctionMut { slot, edit }
    }
}

impl Deref for FunctionMut<'_> {
    type Target = Function;

    fn deref(&self) -> &Function {
        &self.edit
    }
}

impl DerefMut for FunctionMut<'_> {
    fn deref_mut(&mut self) -> &mut Function {
        &mut self.edit
    }
}

impl Drop for FunctionMut<'_> {
    fn drop(&mut self) {
        // Every field by name, so a new field of `Function` must be decided on here.
        let Function {
            name,
            linkage,
            section,
            is_program,
            btf_func,
            hidden,
            first: _,
            last: _,
            n_insns: _,
        } = std::mem::replace(
            &mut self.edit,
            Function::new(String::new(), String::new(), false),
        );
        let slot = &mut *self.slot;
        slot.name = name;
        slot.linkage = linkage;
        slot.section = section;
        slot.is_program = is_program;
        slot.btf_func = btf_func;
        slot.hidden = hidden;
    }
}

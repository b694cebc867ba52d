//! `BPF_PROG_TEST_RUN`: run a loaded program on a given packet and/or context and read back
//! its return value, its output and how long it took.
//!
//! The kernel writes output only into the buffers given, never more than their lengths:
//! an empty output buffer is passed as no buffer at all, because the kernel reads a zero
//! capacity as "unbounded" and would write the whole output. Output larger than the buffer
//! is reported as `ENOSPC` (the buffer then holds its first bytes).
//!
//! Costs: one system call; the program runs `repeat` times in the kernel.

use std::os::fd::AsRawFd;

use super::attr::TestRunAttr;
use super::{bpf, slice_len, Command, ProgFd, SysError};

/// The input and output buffers of one test run.
#[derive(Debug, Default)]
pub struct TestRun<'a> {
    /// The packet (or other data) the program runs on. Packet program types need at least
    /// an Ethernet header (14 bytes).
    pub data_in: &'a [u8],
    /// Receives the data as the program left it.
    pub data_out: Option<&'a mut [u8]>,
    /// The context (`struct __sk_buff`, `struct xdp_md`, a syscall program's argument
    /// struct, ...); empty for none.
    pub ctx_in: &'a [u8],
    /// Receives the context as the program left it.
    pub ctx_out: Option<&'a mut [u8]>,
    /// How many times to run (0 means once); the duration is the mean.
    pub repeat: u32,
    /// `BPF_F_TEST_*` flags.
    pub flags: u32,
    /// CPU to run on, with `BPF_F_TEST_RUN_ON_CPU` in `flags`.
    pub cpu: u32,
}

/// What a test run returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value (of the last run).
    pub retval: u32,
    /// Mean duration of one run in nanoseconds.
    pub duration_ns: u32,
    /// Length of the output data (it fit in `data_out`, or the run failed with `ENOSPC`).
    pub data_size_out: u32,
    /// Length of the output context.
    pub ctx_size_out: u32,
}

/// Address and capacity of an optional output buffer; an empty one counts as none.
fn out_buf(buf: &mut Option<&mut [u8]>) -> Result<(u64, u32), SysError> {
    match buf {
        Some(buf) if !buf.is_empty() => Ok((
            buf.as_mut_ptr() as u64,
            slice_len(Command::ProgTestRun, "output buffer", buf.len())?,
        )),
        _ => Ok((0, 0)),
    }
}

/// Runs a loaded program (`BPF_PROG_TEST_RUN`).
pub fn test_run(prog: &ProgFd, run: &mut TestRun<'_>) -> Result<TestRunResult, SysError> {
    let command = Command::ProgTestRun;
    let (data_out, data_size_out) = out_buf(&mut run.data_out)?;
    let (ctx_out, ctx_size_out) = out_buf(&mut run.ctx_out)?;
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: slice_len(command, "data_in", run.data_in.len())?,
        data_size_out,
        data_in: if run.data_in.is_empty() {
            0
        } else {
            run.data_in.as_ptr() as u64
        },
        data_out,
        repeat: run.repeat,
        ctx_size_in: slice_len(command, "ctx_in", run.ctx_in.len())?,
        ctx_size_out,
        ctx_in: if run.ctx_in.is_empty() {
            0
        } else {
            run.ctx_in.as_ptr() as u64
        },
        ctx_out,
        flags: run.flags,
        cpu: run.cpu,
        ..TestRunAttr::default()
    };
    // SAFETY: `data_in`/`ctx_in` point to the borrowed input slices of the given lengths;
    // `data_out`/`ctx_out` are 0 or point to the exclusively borrowed, non-empty output
    // slices with their lengths as capacities, which the kernel never exceeds (a zero
    // capacity with a buffer is never passed, see `out_buf`). All outlive the call.
    // `TestRunAttr` is the attr of BPF_PROG_TEST_RUN.
    unsafe { bpf(command, &mut attr) }.map_err(|errno| SysError::Syscall {
        command,
        errno,
        log: String::new(),
        log_truncated: false,
    })?;
    Ok(TestRunResult {
        retval: attr.retval,
        duration_ns: attr.duration,
        data_size_out: attr.data_size_out,
        ctx_size_out: attr.ctx_size_out,
    })
}

//! Unit tests of the linker on modules built in code.

//! Unit tests of the writer on modules built in code.

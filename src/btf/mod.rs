//! BPF Type Format.
mod ids;
pub use ids::{StrOffset, WireTypeId};

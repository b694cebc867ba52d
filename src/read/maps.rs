//! Map definitions: legacy `maps` and BTF-defined `.maps`.

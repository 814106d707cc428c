//! Placeholder: the serving issue (#9) fills this crate.

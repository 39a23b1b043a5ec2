//! The data every layer shares, and pure functions over it: no I/O, and no
//! import of any other part of the crate. Specs, plans, backends, the
//! engine and reports all depend on this; it depends on none of them
//! (`tests/layers.rs` holds that).

pub mod document;
pub mod duration;
pub mod facts;
pub mod file;
pub mod glob;
pub mod image;
pub mod net;
pub mod target;
pub mod text;

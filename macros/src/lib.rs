//! Proc-macros for infraspec's Rust DSL (`spec!`, `#[infraspec::test]`).
//!
//! The DSL lands with its own issue; until then this crate only reserves the name
//! so the workspace layout is stable.

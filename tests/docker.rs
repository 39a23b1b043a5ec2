//! The Docker backend against a real Docker engine and locally built images.
//! The same cases run against podman in `tests/podman.rs`.

include!("engine_cases.rs");

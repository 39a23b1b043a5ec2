//! The Docker backend against a real Docker engine and locally built images.
//! The same cases run against podman in `tests/podman.rs`.

use crate::support;

include!("cases/container_cases.rs");

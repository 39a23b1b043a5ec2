//! The container and image cases of the Docker suite, against podman's
//! Docker-compatible API (`podman://`, `podman:`): the same source, built
//! with this test binary's name, which selects the engine (see
//! `support::docker::engine`).

#[macro_use]
mod support;

include!("cases/container_cases.rs");

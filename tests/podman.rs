//! The container and image cases of the Docker suite, against podman's
//! Docker-compatible API (`podman://`, `podman:`): the same source, in a
//! module named `podman`, whose tests the harness runs on podman (see
//! `support::docker::engine`).

use crate::support;

include!("cases/container_cases.rs");

//! The images observer: `docker_image` checks, answered by the engine that
//! holds the target's images (a `podman:` target's podman, a `docker:`
//! target's Docker) or by an image file's own config; other targets ask the
//! runner's Docker engine.

use crate::backend::Backend;
use crate::model::facts::ContainerRuntime;
use crate::model::image::ImageMeta;
use crate::model::target::Engine;
use crate::resource::Observations;
use crate::spec::{Check, ResourceKind};

/// Looks up every image the checks name, once each.
pub(crate) fn images_round<'c>(
    backend: &dyn Backend,
    checks: impl Iterator<Item = &'c Check>,
    obs: &mut Observations<'_>,
) {
    for c in checks {
        let r = &c.resource;
        if r.kind == ResourceKind::DockerImage && !obs.images.contains_key(&r.name) {
            obs.images
                .insert(r.name.clone(), image_meta(backend, &r.name));
        }
    }
}

/// An image's metadata as the target's engine has it; `None` when it has no
/// such image.
fn image_meta(backend: &dyn Backend, name: &str) -> Result<Option<ImageMeta>, String> {
    if let Some(image) = backend.image_file() {
        // An image file answers for itself, by any of its names.
        if image.names().iter().any(|n| n == name) {
            return Ok(image.config().cloned());
        }
    }
    let engine = match backend.container_runtime() {
        Some(ContainerRuntime::Podman) => Engine::Podman,
        _ => Engine::Docker,
    };
    crate::backend::docker::inspect_image(engine, name)
}

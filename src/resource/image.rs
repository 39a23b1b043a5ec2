//! `docker_image`: an image's metadata (env, labels, exposed ports, user,
//! workdir, entrypoint, cmd, volumes), for gating images before promotion.
//!
//! The metadata is read from the Docker engine of the machine that runs
//! infraspec, whatever the target: it is a fact about the image, not about a
//! running machine. Lists are compared with `contains` and friends:
//! `exposed_ports: { not: { contains: 22/tcp } }`, `env: { not: { matches: '^SECRET=' } }`.

use std::collections::BTreeMap;

use super::{Early, Observed};
use crate::matcher::Value;
use crate::spec::Property;

pub use crate::model::image::ImageMeta;

/// Images looked up for a run: name to metadata (`None`: not present).
pub type Images = BTreeMap<String, Result<Option<ImageMeta>, String>>;

pub fn observe(images: &Images, name: &str, property: Property) -> Result<Observed, Early> {
    let meta = images
        .get(name)
        .ok_or_else(|| Early::Error(format!("image {name} was not looked up")))?
        .as_ref()
        .map_err(|e| Early::Error(e.clone()))?;
    if property == Property::Exists {
        return Ok(Value::Bool(meta.is_some()).into());
    }
    let meta = meta
        .as_ref()
        .ok_or_else(|| Early::Fail("no such image on the Docker engine".into()))?;
    let list = |v: &Vec<String>| Value::List(v.clone());
    Ok(match property {
        Property::Env => list(&meta.env),
        Property::Labels => list(&meta.labels),
        Property::ExposedPorts => list(&meta.exposed_ports),
        Property::User => Value::Text(meta.user.clone()),
        Property::Workdir => Value::Text(meta.workdir.clone()),
        Property::Entrypoint => list(&meta.entrypoint),
        Property::Cmd => list(&meta.cmd),
        Property::Volumes => list(&meta.volumes),
        other => {
            return Err(Early::Error(format!(
                "docker_image has no property {other}"
            )))
        }
    }
    .into())
}

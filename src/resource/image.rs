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

/// What `docker image inspect` says of an image's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageMeta {
    /// `KEY=value`
    pub env: Vec<String>,
    /// `key=value`
    pub labels: Vec<String>,
    /// `80/tcp`
    pub exposed_ports: Vec<String>,
    pub user: String,
    pub workdir: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub volumes: Vec<String>,
}

impl ImageMeta {
    /// Reads the `config` object of an OCI or Docker image config (the
    /// same fields `docker image inspect` shows under `Config`).
    pub fn from_config(c: &serde_json::Value) -> ImageMeta {
        let list = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            k.sort();
            k
        };
        let mut labels: Vec<String> = c["Labels"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        ImageMeta {
            env: list(&c["Env"]),
            labels,
            exposed_ports: keys(&c["ExposedPorts"]),
            user: text(&c["User"]),
            workdir: text(&c["WorkingDir"]),
            entrypoint: list(&c["Entrypoint"]),
            cmd: list(&c["Cmd"]),
            volumes: keys(&c["Volumes"]),
        }
    }
}

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

//! An image's configuration, as `docker image inspect` shows it.

/// What `docker image inspect` says of an image's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageMeta {
    /// `KEY=value`
    pub env: Vec<String>,
    /// `key=value`
    pub labels: Vec<String>,
    /// `80/tcp`
    pub exposed_ports: Vec<String>,
    /// The user the image runs as.
    pub user: String,
    /// The working directory.
    pub workdir: String,
    /// The entrypoint, as a list of words.
    pub entrypoint: Vec<String>,
    /// The command, as a list of words.
    pub cmd: Vec<String>,
    /// Declared volumes (paths).
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

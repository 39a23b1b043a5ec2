//! Validation: every error of a spec at once, each at its span.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

use crate::ast::{Describe, Item, Spec};

pub const RESOURCES: &[&str] = &[
    "package",
    "service",
    "port",
    "file",
    "user",
    "group",
    "process",
    "command",
    "kernel_param",
    "kernel_module",
    "mount",
    "interface",
    "host",
    "http",
    "docker_image",
    "unix_socket",
    "certificate",
];

const ATTRIBUTES: &str = "skip_in_container, skip(\"reason\"), only_if(…), eventually(timeout = \"30s\", interval = \"1s\"), title(\"…\"), tags(\"a\", \"b\"), timeout(\"10s\"), sensitive, request(…) on http, file, command and host";

const REQUEST_HELP: &str = "request takes method = \"POST\", header = \"Name: value\" (repeatable), body = \"…\", auth = \"user:password\", follow_redirects = false, insecure = true, ca = \"path\", json_path = \".a.b[0]\", from = \"runner\"; port = 443 on host";

/// Errors collected across a spec, combined into one compile error.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub fn check(spec: &Spec) -> syn::Result<()> {
    let mut errors = Errors::default();
    if spec.items.is_empty() {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "spec! is empty: write `describe package(\"nginx\") { it { should be_installed() } }`",
        ));
    }
    for item in &spec.items {
        match item {
            Item::Describe(d) => describe(d, &mut errors),
            Item::Test(f) => test_fn(f, &mut errors),
        }
    }
    errors.finish()
}

/// A duration like `30s`, `500ms`, `2m`, `1h`, or seconds (see
/// [`crate::duration`]).
fn is_duration(s: &str) -> bool {
    crate::duration::is_duration(s)
}

fn lit_str(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn lit_bool(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => None,
    }
}

fn describe(d: &Describe, errors: &mut Errors) {
    let resource = d.resource.to_string();
    if !RESOURCES.contains(&resource.as_str()) {
        errors.push(syn::Error::new(
            d.resource.span(),
            format!(
                "unknown resource `{resource}`; expected one of: {}",
                RESOURCES.join(", ")
            ),
        ));
    }
    if d.args.len() != 1 {
        errors.push(syn::Error::new(
            d.resource.span(),
            format!("`{resource}(…)` takes exactly one argument: the {resource}'s name"),
        ));
    }
    if d.examples.is_empty() {
        errors.push(syn::Error::new(
            d.describe.span(),
            "this describe block has no `it { … }` or `its(…) { … }`",
        ));
    }
    for e in &d.examples {
        if e.keyword == "it" && e.property.is_some() {
            errors.push(syn::Error::new(
                e.keyword.span(),
                "`it` takes no property: use `its(property)`",
            ));
        }
    }
    for attr in &d.attrs {
        attribute(attr, errors);
        if attr.path().is_ident("request") {
            // What each resource's request may say.
            let allowed: &[&str] = match resource.as_str() {
                "http" => &[],
                "file" | "command" => &["json_path"],
                "host" => &["port"],
                _ => {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "#[request(…)] qualifies `describe http(…)`, `file(…)` and `command(…)` (json_path) and `host(…)` (port) only",
                    ));
                    continue;
                }
            };
            let keys = attr
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated,
                )
                .map(|p| p.into_iter().collect::<Vec<_>>())
                .unwrap_or_default();
            for pair in keys {
                let key = pair
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                if !allowed.is_empty() && !allowed.contains(&key.as_str()) {
                    errors.push(syn::Error::new_spanned(
                        &pair.path,
                        format!(
                            "`{key}` does not qualify `describe {resource}(…)`: it takes {}",
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
    }
}

fn attribute(attr: &Attribute, errors: &mut Errors) {
    let name = attr
        .path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    let err = |msg: String| syn::Error::new_spanned(attr, msg);
    match name.as_str() {
        "skip_in_container" | "sensitive" => match &attr.meta {
            Meta::Path(_) => {}
            Meta::List(_) => {
                if attr.parse_args::<syn::LitBool>().is_err() {
                    errors.push(err(format!("#[{name}] takes nothing, or `true`/`false`")));
                }
            }
            Meta::NameValue(_) => errors.push(err(format!(
                "#[{name}] takes nothing, or `(true)`/`(false)`"
            ))),
        },
        "skip" | "title" => {
            if crate::ast::string_arg(attr).is_err() {
                errors.push(err(format!("#[{name}(\"…\")] takes one string")));
            }
        }
        "timeout" => match crate::ast::string_arg(attr) {
            Ok(s) if is_duration(&s.value()) => {}
            _ => errors.push(err(
                "#[timeout(\"10s\")] takes a duration such as \"10s\" or \"500ms\"".into(),
            )),
        },
        "tags" => {
            let parsed = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::LitStr, syn::Token![,]>::parse_terminated,
            );
            if parsed.is_err() {
                errors.push(err("#[tags(\"a\", \"b\")] takes strings".into()));
            }
        }
        "request" => key_values(attr, REQUEST_HELP, errors, |key, value| match key {
            "method" => lit_str(value).is_some_and(|m| {
                ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(&m.to_ascii_uppercase().as_str())
            }),
            "header" => lit_str(value).is_some_and(|h| h.split_once(':').is_some_and(|(n, _)| !n.trim().is_empty())),
            "auth" => lit_str(value).is_some_and(|a| a.contains(':')),
            "from" => lit_str(value).is_some_and(|f| f == "runner" || f == "target"),
            "body" | "ca" => lit_str(value).is_some(),
            "json_path" => lit_str(value).is_some(),
            "port" => matches!(value, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_parse::<u16>().is_ok_and(|p| p > 0)),
            "follow_redirects" | "insecure" => lit_bool(value).is_some(),
            _ => false,
        }),
        "only_if" => key_values(
            attr,
            "only_if takes os = \"debian\", arch = \"x86_64\", init = \"systemd|openrc|sysv|none\", container = true|false",
            errors,
            |key, value| match key {
                "os" | "arch" => lit_str(value).is_some(),
                "init" => lit_str(value).is_some_and(|v| ["systemd", "openrc", "sysv", "none"].contains(&v.as_str())),
                "container" => lit_bool(value).is_some(),
                _ => false,
            },
        ),
        "eventually" => key_values(
            attr,
            "eventually takes timeout = \"30s\", interval = \"1s\"",
            errors,
            |key, value| matches!(key, "timeout" | "interval") && lit_str(value).is_some_and(|v| is_duration(&v)),
        ),
        _ => errors.push(err(format!(
            "unknown attribute on describe; expected one of: {ATTRIBUTES}"
        ))),
    }
}

/// `#[name(key = value, …)]`: each pair must be accepted by `accepts`, and
/// each one that is not is an error at that pair.
fn key_values(
    attr: &Attribute,
    help: &str,
    errors: &mut Errors,
    accepts: impl Fn(&str, &Expr) -> bool,
) {
    let pairs = attr.parse_args_with(
        syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated,
    );
    let Ok(pairs) = pairs else {
        errors.push(syn::Error::new_spanned(attr, help));
        return;
    };
    for pair in pairs {
        let key = pair
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        if !accepts(&key, &pair.value) {
            errors.push(syn::Error::new_spanned(&pair, help));
        }
    }
}

/// `fn name(host: &Host) -> infraspec::Result<()>`
pub fn test_fn(f: &syn::ItemFn, errors: &mut Errors) {
    let sig = &f.sig;
    if sig.inputs.len() != 1 {
        let span = if sig.inputs.is_empty() {
            sig.ident.span()
        } else {
            syn::spanned::Spanned::span(&sig.inputs)
        };
        errors.push(syn::Error::new(
            span,
            "an infraspec test takes one argument: `host: &Host`",
        ));
    }
    if matches!(sig.output, syn::ReturnType::Default) {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            "an infraspec test returns `infraspec::Result<()>`",
        ));
    }
    if sig.asyncness.is_some() || !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            "an infraspec test is a plain, non-generic, non-async fn",
        ));
    }
}

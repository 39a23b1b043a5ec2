//! The DSL's one table of which resource has which property, of which value
//! kind, expanded inside `infraspec::dsl` into everything the type system
//! needs from it: the property marker types, their `PropertyOf` impls, the
//! table as data (tested against the YAML side), and one module per resource
//! whose constants are the names `its(…)` takes, so that a property a
//! resource does not have is a plain "cannot find `mode` in
//! `properties::package`" at the user's word, with rustc's "did you mean".

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, Token};

/// `Package: Installed => State, Version => Version; …`
pub struct Table(Vec<(Ident, Vec<(Ident, Ident)>)>);

impl Parse for Table {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut rows = Vec::new();
        while !input.is_empty() {
            let res: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            let mut props = Vec::new();
            loop {
                let prop: Ident = input.parse()?;
                input.parse::<Token![=>]>()?;
                let kind: Ident = input.parse()?;
                props.push((prop, kind));
                if input.parse::<Option<Token![,]>>()?.is_none() {
                    break;
                }
            }
            input.parse::<Token![;]>()?;
            rows.push((res, props));
        }
        Ok(Table(rows))
    }
}

/// An identifier for `name`, raw where it is a keyword (`r#type`).
pub fn ident(name: &str, span: Span) -> Ident {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe",
        "use", "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro",
        "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    if KEYWORDS.contains(&name) {
        Ident::new_raw(name, span)
    } else {
        Ident::new(name, span)
    }
}

/// `KernelParam` -> `kernel_param`.
fn snake(camel: &Ident) -> Ident {
    let mut out = String::new();
    for (i, c) in camel.to_string().chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    ident(&out, Span::call_site())
}

pub fn expand(table: &Table) -> TokenStream {
    let mut markers: Vec<&Ident> = Vec::new();
    for (_, props) in &table.0 {
        for (p, _) in props {
            if !markers.contains(&p) {
                markers.push(p);
            }
        }
    }
    let marker_docs = markers
        .iter()
        .map(|m| format!("The `{}` property.", snake(m).unraw()));
    let impls = table.0.iter().flat_map(|(res, props)| {
        props.iter().map(move |(prop, kind)| {
            quote! {
                impl PropertyOf<res::#res> for props::#prop {
                    type Kind = kind::#kind;
                    const PROPERTY: crate::spec::Property = crate::spec::Property::#prop;
                }
            }
        })
    });
    let rows = table.0.iter().flat_map(|(res, props)| {
        props.iter().map(move |(prop, kind)| {
            quote! {
                (crate::spec::ResourceKind::#res, crate::spec::Property::#prop, crate::spec::ValueKind::#kind)
            }
        })
    });
    let modules = table.0.iter().map(|(res, props)| {
        let module = snake(res);
        let module_doc = format!(
            "The properties of `{module}`, by the names `its(…)` takes: {}.",
            props
                .iter()
                .map(|(p, _)| snake(p).unraw().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let consts = props.iter().map(|(prop, kind)| {
            let name = snake(prop);
            let doc = format!(
                "`its({})` on `{module}`: a value of kind `{kind}`.",
                name.unraw()
            );
            quote! {
                #[doc = #doc]
                #[allow(non_upper_case_globals)]
                pub const #name: Prop<res::#res, props::#prop> = Prop(PhantomData);
            }
        });
        quote! {
            #[doc = #module_doc]
            pub mod #module {
                use super::super::{props, res, Prop};
                use std::marker::PhantomData;
                #(#consts)*
            }
        }
    });
    quote! {
        /// Property marker types.
        pub mod props {
            #(
                #[doc = #marker_docs]
                #[derive(Debug, Clone, Copy)]
                pub struct #markers;
            )*
            /// Which resource has which property, of which kind: the impls
            /// below as data, to test against the YAML side.
            pub const TABLE: &[(crate::spec::ResourceKind, crate::spec::Property, crate::spec::ValueKind)] = &[
                #(#rows,)*
            ];
        }
        #(#impls)*
        /// Each resource's properties as values: `spec!` names
        /// `properties::package::version` for `its(version)` in `describe
        /// package(…)`, so a property the resource does not have is an
        /// unresolved name at the user's word.
        pub mod properties {
            #(#modules)*
        }
    }
}

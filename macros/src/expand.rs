//! Expansion: plain values handed to `::infraspec::__private`, nothing more.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, Meta};

use crate::ast::{Describe, Item, Spec};

fn camel(snake: &str, span: Span) -> Ident {
    let name: String = snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    Ident::new(&name, span)
}

pub fn spec(spec: &Spec) -> TokenStream {
    let mut describes = Vec::new();
    let mut tests = Vec::new();
    for item in &spec.items {
        match item {
            Item::Describe(d) => describes.push(describe(d)),
            Item::Test(f) => tests.push(f),
        }
    }
    let customs = tests.iter().map(|f| {
        let name = &f.sig.ident;
        let text = name.to_string();
        quote!(::infraspec::__private::Custom::new(#text, #name))
    });
    quote! {
        #(#tests)*

        fn main() -> ::std::process::ExitCode {
            let mut __checks = ::std::vec::Vec::new();
            #(#describes)*
            ::infraspec::__private::run_main(__checks, ::std::vec![#(#customs),*])
        }
    }
}

fn describe(d: &Describe) -> TokenStream {
    let kind = camel(&d.resource.to_string(), d.resource.span());
    let arg = &d.args[0];
    let options = d.attrs.iter().map(option);
    let examples = d.examples.iter().map(|e| {
        let m = &e.matcher;
        let negate = e.negate;
        let span = m.span();
        match &e.property {
            None => quote_spanned! {span=>
                __checks.push(::infraspec::__private::with_request(::infraspec::__private::it::<::infraspec::__private::res::#kind, _>(&__r, &__o, #m, #negate), &__q, __jp));
            },
            // The property by its name in the resource's module: one the
            // resource does not have is an unresolved name at the user's word.
            Some(p) => {
                let module = &d.resource;
                let p = crate::table::ident(&syn::ext::IdentExt::unraw(p).to_string(), p.span());
                quote_spanned! {span=>
                    __checks.push(::infraspec::__private::with_request(::infraspec::__private::its(::infraspec::dsl::properties::#module::#p, &__r, &__o, #m, #negate), &__q, __jp));
                }
            }
        }
    });
    quote! {{
        let __r = ::infraspec::__private::resource(::infraspec::ResourceKind::#kind, #arg);
        #[allow(unused_mut)]
        let mut __o = ::infraspec::__private::CheckOptions::default();
        #[allow(unused_mut)]
        let mut __q = ::infraspec::__private::Request::default();
        #[allow(unused_mut)]
        let mut __jp: ::std::option::Option<&str> = ::std::option::Option::None;
        #(#options)*
        let __start = __checks.len();
        #(#examples)*
        ::infraspec::__private::describe_done(&mut __checks[__start..]);
    }}
}

/// One attribute as a statement on the check options `__o` (validated before).
fn option(attr: &Attribute) -> TokenStream {
    let name = attr
        .path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    let flag = || match &attr.meta {
        Meta::List(_) => attr
            .parse_args::<syn::LitBool>()
            .map(|b| b.value)
            .unwrap_or(true),
        _ => true,
    };
    let string = || {
        crate::ast::string_arg(attr)
            .map(|s| s.value())
            .unwrap_or_default()
    };
    match name.as_str() {
        "skip_in_container" => {
            let v = flag();
            quote!(__o.skip_in_container = ::std::option::Option::Some(#v);)
        }
        "sensitive" => {
            let v = flag();
            quote!(__o.sensitive = #v;)
        }
        "skip" => {
            let v = string();
            quote!(__o.skip = ::std::option::Option::Some(::std::string::String::from(#v));)
        }
        "title" => {
            let v = string();
            quote!(__o.title = ::std::option::Option::Some(::std::string::String::from(#v));)
        }
        "timeout" => {
            let v = string();
            quote!(__o.timeout = ::std::option::Option::Some(::infraspec::__private::duration(#v));)
        }
        "tags" => {
            let tags: Vec<String> = attr
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::LitStr, syn::Token![,]>::parse_terminated,
                )
                .map(|p| p.iter().map(|s| s.value()).collect())
                .unwrap_or_default();
            quote!(__o.tags = ::std::vec![#(::std::string::String::from(#tags)),*];)
        }
        "request" => {
            let pairs = attr
                .parse_args_with(syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated)
                .map(|p| p.into_iter().collect::<Vec<_>>())
                .unwrap_or_default();
            let sets = pairs.iter().map(|pair| {
                let value = &pair.value;
                match pair.path.get_ident().map(|i| i.to_string()).unwrap_or_default().as_str() {
                    "method" => quote!(__q.method = ::std::option::Option::Some(::std::string::String::from(#value).to_ascii_uppercase());),
                    "header" => quote! {
                        if let ::std::option::Option::Some((__n, __v)) = (#value).split_once(':') {
                            __q.headers.push((__n.trim().to_string(), __v.trim().to_string()));
                        }
                    },
                    "body" => quote!(__q.body = ::std::option::Option::Some(::std::string::String::from(#value));),
                    "auth" => quote!(__q.auth = ::std::option::Option::Some(::std::string::String::from(#value));),
                    "ca" => quote!(__q.ca = ::std::option::Option::Some(::std::string::String::from(#value));),
                    "json_path" => quote!(__jp = ::std::option::Option::Some(#value);),
                    "port" => quote!(__q.port = ::std::option::Option::Some(#value);),
                    "follow_redirects" => quote!(__q.follow_redirects = ::std::option::Option::Some(#value);),
                    "insecure" => quote!(__q.insecure = #value;),
                    _ => quote! {
                        if #value == "runner" {
                            __q.from = ::infraspec::__private::From::Runner;
                        }
                    },
                }
            });
            quote!(#(#sets)*)
        }
        "only_if" | "eventually" => {
            let pairs = attr
                .parse_args_with(syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated)
                .map(|p| p.into_iter().collect::<Vec<_>>())
                .unwrap_or_default();
            let sets = pairs.iter().map(|pair| {
                let key = pair.path.get_ident().cloned().expect("validated");
                let value = &pair.value;
                match (name.as_str(), key.to_string().as_str()) {
                    ("only_if", "container") => quote!(__o.only_if.container = ::std::option::Option::Some(#value);),
                    ("only_if", _) => quote!(__o.only_if.#key = ::std::option::Option::Some(::std::string::String::from(#value));),
                    (_, "timeout") => quote!(__ev.timeout = ::infraspec::__private::duration(#value);),
                    _ => quote!(__ev.interval = ::infraspec::__private::duration(#value);),
                }
            });
            if name == "only_if" {
                quote!(#(#sets)*)
            } else {
                quote! {{
                    let mut __ev = ::infraspec::__private::Eventually::default();
                    #(#sets)*
                    __o.eventually = ::std::option::Option::Some(__ev);
                }}
            }
        }
        _ => TokenStream::new(),
    }
}

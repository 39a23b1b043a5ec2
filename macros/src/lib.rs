//! Proc-macros for infraspec's Rust DSL.
//!
//! `spec!` is parse -> validate -> expand, nothing else: it reads `describe`
//! blocks, checks their shape (reporting every error at once, each with its
//! span), and expands to a `main` that hands plain values to
//! `::infraspec::__private`. Whether a matcher fits a resource or property is
//! left to the type system: the expansion passes each matcher to a function
//! bounded by `Fits<Subject>`, spanned at the matcher, so a misfit is a compile
//! error that points at it.

use proc_macro::TokenStream;

mod ast;
mod duration;
mod expand;
mod table;
mod valid;

/// Infrastructure specs that run under `cargo test` (a `harness = false`
/// test target). See the `infraspec` crate docs for the language.
#[proc_macro]
pub fn spec(input: TokenStream) -> TokenStream {
    let spec = match syn::parse::<ast::Spec>(input) {
        Ok(spec) => spec,
        Err(e) => {
            let errors = e.to_compile_error();
            return quote::quote!(#errors fn main() {}).into();
        }
    };
    if let Err(e) = valid::check(&spec) {
        // A stub `main` so that the errors above are the only ones.
        let errors = e.to_compile_error();
        return quote::quote!(#errors fn main() {}).into();
    }
    expand::spec(&spec).into()
}

/// Marks a plain-Rust check inside `spec!`: `fn name(host: &Host) ->
/// infraspec::Result<()>`. Outside `spec!` it only checks the signature.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = proc_macro2::TokenStream::from(attr);
    let func = syn::parse_macro_input!(item as syn::ItemFn);
    let mut errors = valid::Errors::default();
    if !attr.is_empty() {
        errors.push(syn::Error::new_spanned(
            attr,
            "#[infraspec::test] takes no arguments",
        ));
    }
    valid::test_fn(&func, &mut errors);
    match errors.finish() {
        Err(e) => e.to_compile_error().into(),
        Ok(()) => quote::quote!(#func).into(),
    }
}

/// For `infraspec::dsl` only: expands the table of which resource has which
/// property into the DSL's marker types, impls and per-resource names.
#[doc(hidden)]
#[proc_macro]
pub fn __property_table(input: TokenStream) -> TokenStream {
    let table = syn::parse_macro_input!(input as table::Table);
    table::expand(&table).into()
}

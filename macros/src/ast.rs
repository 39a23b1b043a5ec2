//! Parsing: the syntax of `spec!`, with spans kept for every piece.

use syn::parse::{Parse, ParseStream};
use syn::{braced, parenthesized, Attribute, Expr, Ident, ItemFn, LitStr, Token};

pub struct Spec {
    pub items: Vec<Item>,
}

pub enum Item {
    Describe(Describe),
    Test(Box<ItemFn>),
}

/// `#[attrs] describe resource(args) { examples }`
pub struct Describe {
    pub attrs: Vec<Attribute>,
    pub describe: Ident,
    pub resource: Ident,
    pub args: Vec<Expr>,
    pub examples: Vec<Example>,
}

/// `it { should m }` or `its(property) { should_not m }`
pub struct Example {
    pub keyword: Ident,
    pub property: Option<Ident>,
    pub negate: bool,
    pub matcher: Expr,
}

impl Parse for Spec {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
        }
        Ok(Spec { items })
    }
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        if input.peek(Token![fn]) || input.peek(Token![pub]) {
            let mut func: ItemFn = input.parse()?;
            func.attrs = attrs.into_iter().chain(func.attrs).collect();
            return Ok(Item::Test(Box::new(func)));
        }
        let describe: Ident = input.parse()?;
        if describe != "describe" {
            return Err(syn::Error::new(
                describe.span(),
                format!("expected `describe` or a `#[infraspec::test] fn`, found `{describe}`"),
            ));
        }
        let resource: Ident = input.parse()?;
        let content;
        parenthesized!(content in input);
        let args = content
            .parse_terminated(Expr::parse, Token![,])?
            .into_iter()
            .collect();
        let body;
        braced!(body in input);
        let mut examples = Vec::new();
        while !body.is_empty() {
            examples.push(body.parse()?);
        }
        Ok(Item::Describe(Describe {
            attrs,
            describe,
            resource,
            args,
            examples,
        }))
    }
}

impl Parse for Example {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let keyword: Ident = input.parse()?;
        let property = if keyword == "its" {
            let content;
            parenthesized!(content in input);
            // Any word: `its(type)` names the file type.
            Some(content.call(syn::ext::IdentExt::parse_any)?)
        } else if keyword == "it" {
            None
        } else {
            return Err(syn::Error::new(
                keyword.span(),
                format!("expected `it {{ … }}` or `its(property) {{ … }}`, found `{keyword}`"),
            ));
        };
        let body;
        braced!(body in input);
        let should: Ident = body.parse()?;
        let negate = match should.to_string().as_str() {
            "should" => false,
            "should_not" => true,
            other => {
                return Err(syn::Error::new(
                    should.span(),
                    format!("expected `should` or `should_not`, found `{other}`"),
                ))
            }
        };
        let matcher: Expr = body.parse()?;
        let _ = body.parse::<Option<Token![;]>>()?;
        if !body.is_empty() {
            return Err(body.error("one `should …` per example: start another `it { … }`"));
        }
        Ok(Example {
            keyword,
            property,
            negate,
            matcher,
        })
    }
}

/// `#[skip("reason")]`
pub fn string_arg(attr: &Attribute) -> syn::Result<LitStr> {
    attr.parse_args::<LitStr>()
}

//! The Rust DSL's typed layer: resources and properties as marker types, and
//! matchers that say, in their types, what they can check.
//!
//! `spec!` expands each `it { should m }` to a call bounded by
//! `m: Fits<Resource>` and each `its(p) { should m }` to one that takes
//! [`properties`]`::resource::p` (so a property the resource does not have is
//! an unresolved name at the user's word) and is bounded by
//! `m: Fits<Prop<Resource, P>>`. A matcher that
//! does not fit (`be_listening()` on a package, `be_installed()` on an HTTP
//! status) is therefore a compile error at the matcher. Every matcher turns
//! into the same [`Expectation`] a YAML spec would build.

use std::fmt;
use std::marker::PhantomData;

use crate::matcher::{parse_mode, Cmp, Matcher, Pattern, Scalar};
use crate::model::file::FileType;
use crate::spec::{Expectation, Listen, Property, Protocol, ResourceKind, ValueKind};
use crate::version::VersionReq;

/// A resource type of the DSL.
pub trait ResourceType {
    /// The resource kind the type stands for.
    const KIND: ResourceKind;
}

/// A property of resource `R`, and the kind of value it holds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a property of `{R}`",
    label = "no such property on this resource",
    note = "each resource's properties are listed in the infraspec docs (and in `its(…)` errors of YAML specs)"
)]
pub trait PropertyOf<R> {
    /// The kind of value the property holds.
    type Kind: KindOf;
    /// The property the type stands for.
    const PROPERTY: Property;
}

/// A value kind of the DSL.
pub trait KindOf {
    /// The value kind the marker stands for.
    const KIND: ValueKind;
}

/// A property `P` of resource `R`: what `its(p)` checks.
pub struct Prop<R, P>(PhantomData<(R, P)>);

/// A matcher that can check subject `S` (a resource, or a [`Prop`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot check `{S}`",
    label = "this matcher does not fit here",
    note = "resource matchers (be_installed, be_running, exist…) go in `it {{ … }}`; value matchers (eq, contain, match_regex…) go in `its(property) {{ … }}` on a property of the right kind"
)]
pub trait Fits<S> {
    /// The expectation this matcher stands for on `S`.
    fn expectation(self) -> Expectation;
}

/// Resource marker types.
pub mod res {
    macro_rules! resources {
        ($($name:ident => $kind:ident),* $(,)?) => {$(
            #[doc = concat!("The `", stringify!($kind), "` resource.")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl super::ResourceType for $name {
                const KIND: crate::spec::ResourceKind = crate::spec::ResourceKind::$kind;
            }
        )*};
    }
    resources!(
        Package => Package, Service => Service, Port => Port, File => File, User => User,
        Group => Group, Process => Process, Command => Command, KernelParam => KernelParam,
        KernelModule => KernelModule, Mount => Mount, Interface => Interface, Host => Host,
        Http => Http, DockerImage => DockerImage, UnixSocket => UnixSocket,
        Certificate => Certificate,
    );
}

/// Value kind marker types.
pub mod kind {
    macro_rules! kinds {
        ($($name:ident),*) => {$(
            #[derive(Debug, Clone, Copy)]
            /// A value kind, as a type.
            pub struct $name;
            impl super::KindOf for $name {
                const KIND: crate::spec::ValueKind = crate::spec::ValueKind::$name;
            }
        )*};
    }
    kinds!(State, Int, Text, Version, List, Mode, FileType, Json);
}

// The property markers, their impls and the per-resource names, made from
// the one table of which resource has which property (`spec`).
crate::spec::with_property_table!(infraspec_macros::__property_table);

fn state(property: Property) -> Expectation {
    Expectation::new(property, Matcher::Eq(Scalar::Bool(true)))
}

macro_rules! state_matcher {
    ($(#[$doc:meta])* $ty:ident, $ctor:ident, $property:ident, [$($res:ident),+]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;
        $(#[$doc])*
        pub fn $ctor() -> $ty {
            $ty
        }
        $(impl Fits<res::$res> for $ty {
            fn expectation(self) -> Expectation {
                state(Property::$property)
            }
        })+
    };
}

state_matcher!(/// The package is installed.
    BeInstalled, be_installed, Installed, [Package]);
state_matcher!(/// The service or process is running.
    BeRunning, be_running, Running, [Service, Process]);
state_matcher!(/// The service starts at boot.
    BeEnabled, be_enabled, Enabled, [Service]);
state_matcher!(/// The resource exists.
    Exist, exist, Exists, [File, User, Group, KernelParam, Mount, Interface, DockerImage]);
state_matcher!(/// The name resolves.
    BeResolvable, be_resolvable, Resolvable, [Host]);
state_matcher!(/// The kernel module is loaded.
    BeLoaded, be_loaded, Loaded, [KernelModule]);

/// The port listens; `.with(Protocol::Tcp)` and `.on("127.0.0.1")` qualify it.
#[derive(Debug, Clone, Default)]
pub struct BeListening(Listen);

/// The port listens.
pub fn be_listening() -> BeListening {
    BeListening::default()
}

impl BeListening {
    /// Only sockets of this protocol.
    pub fn with(mut self, protocol: Protocol) -> Self {
        self.0.protocol = Some(protocol);
        self
    }
    /// Only sockets bound to this address.
    pub fn on(mut self, address: impl Into<String>) -> Self {
        self.0.address = Some(address.into());
        self
    }
}

impl Fits<res::Port> for BeListening {
    fn expectation(self) -> Expectation {
        let mut e = state(Property::Listening);
        e.listen = self.0;
        e
    }
}

/// The file is of a type (`be_file()`, `be_directory()`…).
#[derive(Debug, Clone, Copy)]
pub struct BeType(crate::model::file::FileType);

/// The path is a regular file (links followed).
pub fn be_file() -> BeType {
    BeType(FileType::File)
}
/// The path is a directory (links followed).
pub fn be_directory() -> BeType {
    BeType(FileType::Directory)
}
/// The path is a symlink.
pub fn be_symlink() -> BeType {
    BeType(FileType::Symlink)
}
/// The path is a unix socket.
pub fn be_socket() -> BeType {
    BeType(FileType::Socket)
}
/// The path is a named pipe.
pub fn be_pipe() -> BeType {
    BeType(FileType::Pipe)
}

impl Fits<res::File> for BeType {
    fn expectation(self) -> Expectation {
        Expectation::new(
            Property::Type,
            Matcher::Eq(Scalar::Str(self.0.as_str().into())),
        )
    }
}

/// The file's permission bits: `be_mode(0o644)`.
#[derive(Debug, Clone, Copy)]
pub struct BeMode(u32);

/// The file's permission bits are `mode` (write it in octal: `0o644`).
pub fn be_mode(mode: u32) -> BeMode {
    BeMode(mode)
}

impl Fits<res::File> for BeMode {
    fn expectation(self) -> Expectation {
        Expectation::new(
            Property::Mode,
            Matcher::Eq(Scalar::Str(format!("{:04o}", self.0))),
        )
    }
}

/// The file's owner or group.
#[derive(Debug, Clone)]
pub struct BeOwned(Property, String);

/// The file is owned by `user`.
pub fn be_owned_by(user: impl Into<String>) -> BeOwned {
    BeOwned(Property::Owner, user.into())
}
/// The file's group is `group`.
pub fn be_grouped_into(group: impl Into<String>) -> BeOwned {
    BeOwned(Property::Group, group.into())
}

impl Fits<res::File> for BeOwned {
    fn expectation(self) -> Expectation {
        Expectation::new(self.0, Matcher::Eq(Scalar::Str(self.1)))
    }
}

/// Kinds of value a matcher accepts.
pub mod accepts {
    /// `eq`, `be_one_of`.
    #[diagnostic::on_unimplemented(
        message = "`eq` and `be_one_of` cannot check a property holding `{Self}`",
        label = "needs a property with a value"
    )]
    pub trait Equality {}
    /// `contain`.
    #[diagnostic::on_unimplemented(
        message = "`contain` cannot check a property holding `{Self}`",
        label = "needs a text, list or version property"
    )]
    pub trait Containment {}
    /// `match_regex`.
    #[diagnostic::on_unimplemented(
        message = "`match_regex` cannot check a property holding `{Self}`",
        label = "needs a text, list or version property"
    )]
    pub trait Pattern {}
    /// `start_with`, `end_with`.
    #[diagnostic::on_unimplemented(
        message = "`start_with` and `end_with` cannot check a property holding `{Self}`",
        label = "need a text or version property"
    )]
    pub trait Affix {}
    /// `be_gt`, `be_ge`, `be_lt`, `be_le`.
    #[diagnostic::on_unimplemented(
        message = "`be_gt`, `be_ge`, `be_lt` and `be_le` cannot check a property holding `{Self}`",
        label = "need a number (or numeric text) property"
    )]
    pub trait Order {}
    /// `be_version`.
    #[diagnostic::on_unimplemented(
        message = "`be_version` cannot check a property holding `{Self}`",
        label = "needs a version (or text) property"
    )]
    pub trait Versioned {}

    use super::kind::*;
    impl Equality for State {}
    impl Equality for Int {}
    impl Equality for Text {}
    impl Equality for Version {}
    impl Equality for Mode {}
    impl Equality for FileType {}
    /// `eq(["a", "b"])` on a list: exactly these names, in any order.
    impl Equality for List {}
    impl Containment for Text {}
    impl Containment for List {}
    impl Containment for Version {}
    impl Pattern for Text {}
    impl Pattern for List {}
    impl Pattern for Version {}
    impl Affix for Text {}
    impl Affix for Version {}
    impl Order for Int {}
    impl Order for Text {}
    impl Versioned for Version {}
    impl Versioned for Text {}
    /// `eq(8080)` is the number, `eq("8080")` the string.
    impl Equality for Json {}
    impl Containment for Json {}
    impl Pattern for Json {}
    impl Affix for Json {}
    impl Order for Json {}
}

/// Reads a literal as the property's kind of value, as YAML does.
fn typed(kind: ValueKind, s: Scalar) -> Scalar {
    match (kind, s) {
        (ValueKind::Mode, Scalar::Int(n)) => {
            Scalar::Str(format!("{:04o}", parse_mode(&n.to_string()).unwrap_or(0)))
        }
        (ValueKind::Mode, Scalar::Str(t)) => {
            Scalar::Str(parse_mode(&t).map(|m| format!("{m:04o}")).unwrap_or(t))
        }
        (ValueKind::Text | ValueKind::Version | ValueKind::FileType, Scalar::Int(n)) => {
            Scalar::Str(n.to_string())
        }
        (ValueKind::Text | ValueKind::Version | ValueKind::FileType, Scalar::Bool(b)) => {
            Scalar::Str(b.to_string())
        }
        (_, s) => s,
    }
}

macro_rules! value_matcher {
    ($(#[$doc:meta])* $ty:ident($($field:ty),*), $accepts:ident, |$self_:ident, $kind:ident| $build:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty($(pub(crate) $field),*);
        impl<R, P> Fits<Prop<R, P>> for $ty
        where
            P: PropertyOf<R>,
            P::Kind: accepts::$accepts,
        {
            fn expectation($self_) -> Expectation {
                let $kind = <P::Kind as KindOf>::KIND;
                Expectation::new(P::PROPERTY, $build)
            }
        }
    };
}

value_matcher!(/// Equality: `eq(200)`, `eq("root")`.
    Eq(Scalar), Equality, |self, k| Matcher::Eq(typed(k, self.0)));
value_matcher!(/// One of several values.
    BeOneOf(Vec<Scalar>), Equality, |self, k| Matcher::OneOf(self.0.into_iter().map(|s| typed(k, s)).collect()));
value_matcher!(/// Substring, or member of a list.
    Contain(String), Containment, |self, _k| Matcher::Contains(self.0));
value_matcher!(/// A regular expression matches (any member of a list).
    MatchRegex(Pattern), Pattern, |self, _k| Matcher::Matches(self.0));
value_matcher!(/// A prefix or suffix.
    Affix(bool, String), Affix, |self, _k| if self.0 { Matcher::StartsWith(self.1) } else { Matcher::EndsWith(self.1) });
value_matcher!(/// A numeric comparison.
    Compare(Cmp, f64), Order, |self, _k| Matcher::Compare(self.0, self.1));
value_matcher!(/// A version requirement, with the package manager's ordering.
    BeVersion(VersionReq), Versioned, |self, _k| Matcher::Version(self.0));

/// Any matcher, checked when the spec runs rather than when it compiles: the
/// escape hatch for matchers built at run time.
impl<R, P: PropertyOf<R>> Fits<Prop<R, P>> for Matcher {
    fn expectation(self) -> Expectation {
        Expectation::new(P::PROPERTY, self)
    }
}

/// Equal to `v` (a set, for lists).
pub fn eq(v: impl Into<Scalar>) -> Eq {
    Eq(v.into())
}
/// Equal to one of `values`.
pub fn be_one_of<I: IntoIterator<Item = S>, S: Into<Scalar>>(values: I) -> BeOneOf {
    BeOneOf(values.into_iter().map(Into::into).collect())
}
/// Contains `s` (a substring, or an element of a list).
pub fn contain(s: impl Into<String>) -> Contain {
    Contain(s.into())
}
/// Panics on an invalid regular expression, as `Regex::new(..).unwrap()`
/// would: a spec with a broken pattern means nothing.
pub fn match_regex(re: &str) -> MatchRegex {
    MatchRegex(Pattern::new(re).unwrap_or_else(|e| panic!("{e}")))
}
/// Starts with `s`.
pub fn start_with(s: impl Into<String>) -> Affix {
    Affix(true, s.into())
}
/// Ends with `s`.
pub fn end_with(s: impl Into<String>) -> Affix {
    Affix(false, s.into())
}
/// Greater than `n`.
pub fn be_gt(n: impl Into<f64>) -> Compare {
    Compare(Cmp::Gt, n.into())
}
/// At least `n`.
pub fn be_ge(n: impl Into<f64>) -> Compare {
    Compare(Cmp::Ge, n.into())
}
/// Less than `n`.
pub fn be_lt(n: impl Into<f64>) -> Compare {
    Compare(Cmp::Lt, n.into())
}
/// At most `n`.
pub fn be_le(n: impl Into<f64>) -> Compare {
    Compare(Cmp::Le, n.into())
}
/// Panics on an invalid requirement, for the same reason as [`match_regex`].
pub fn be_version(req: &str) -> BeVersion {
    BeVersion(VersionReq::parse(req).unwrap_or_else(|e| panic!("{e}")))
}

impl fmt::Display for Eq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "eq {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typed_table_is_the_yaml_table() {
        let mut typed: Vec<(ResourceKind, Property, ValueKind)> = props::TABLE.to_vec();
        let mut yaml: Vec<(ResourceKind, Property, ValueKind)> = ResourceKind::ALL
            .iter()
            .flat_map(|r| r.properties().iter().map(move |(p, k)| (*r, *p, *k)))
            .collect();
        let key = |t: &(ResourceKind, Property, ValueKind)| (t.0, t.1);
        typed.sort_by_key(key);
        yaml.sort_by_key(key);
        assert_eq!(typed, yaml);
    }

    #[test]
    fn matchers_become_the_yaml_expectations() {
        assert_eq!(
            Fits::<res::File>::expectation(be_mode(0o644)).phrase(),
            "should be mode 0644"
        );
        let e = <Eq as Fits<Prop<res::File, props::Mode>>>::expectation(eq(644));
        assert_eq!(e.matcher, Matcher::Eq(Scalar::Str("0644".into())));
        let e = <Eq as Fits<Prop<res::Command, props::Stdout>>>::expectation(eq(200));
        assert_eq!(e.matcher, Matcher::Eq(Scalar::Str("200".into())));
        let e = Fits::<res::Port>::expectation(be_listening().with(Protocol::Tcp));
        assert_eq!(e.phrase(), "should be listening with tcp");
    }
}

//! Label and field selectors, parsed as upstream's `labels.Parse` and `fields.ParseSelector`.
//! (Skeleton: the store helper fills this in.)

/// A parse error, worded as upstream's (it becomes a 400 BadRequest).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

/// One label requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A label selector: every requirement must hold. Empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parse `a=b,c!=d,e in (f,g),!h`.
    pub fn parse(_s: &str) -> Result<Self, SelectorError> {
        Err(SelectorError("label selectors are not implemented yet".into()))
    }

    /// Whether the labels given by `get` satisfy every requirement.
    pub fn matches<'a>(&self, _get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.is_empty()
    }
}

/// A field selector: `=`, `==`, `!=` terms joined by commas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// `(field, value, negated)`.
    pub terms: Vec<(String, String, bool)>,
}

impl FieldSelector {
    /// Parse `metadata.name=x,spec.nodeName!=`.
    pub fn parse(_s: &str) -> Result<Self, SelectorError> {
        Err(SelectorError("field selectors are not implemented yet".into()))
    }

    /// Whether the fields given by `get` satisfy every term.
    pub fn matches<'a>(&self, _get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.terms.is_empty()
    }
}

//! Shared validation helpers, as upstream's `apimachinery/pkg/util/validation` and
//! `apimachinery/pkg/api/validation`: string formats ([`names`]), quantities ([`quantity`]) and
//! `metadata` and label-selector rules ([`meta`]). Each helper pushes upstream's `field.Error`s
//! (as [`Cause`](crate::error::Cause)s) so a kind reports every problem at once.

pub mod meta;
pub mod names;

pub use crate::admission::quantity::Quantity;
pub use meta::{
    FIELD_IMMUTABLE, go_string_map, invalid_shown, nonnegative, selector_is_empty,
    selector_matches, too_long, validate_annotations, validate_label_selector, validate_labels,
    validate_object_meta, validate_object_meta_update,
};
pub use names::NameRule;

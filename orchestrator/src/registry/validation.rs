//! Shared validation helpers, as upstream's `apimachinery/pkg/util/validation` and
//! `apimachinery/pkg/api/validation` (names, labels, annotations, quantities, selectors).
//! (Skeleton: the kinds helper fills this in.)

//! Reading a resource as of an older revision: the current objects overlaid with, for each key
//! changed since, its state at that revision (the `prev` of its first later event).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use super::{State, stored_key};
use crate::store::{EventType, Stored};

/// What a list reads: the revision and, for an older one, the keys whose state then differs.
pub(super) struct Snapshot {
    pub(super) revision: u64,
    /// Key → state at `revision` (`None`: absent then) for keys changed after it.
    pub(super) overlay: BTreeMap<Box<str>, Option<Arc<Stored>>>,
}

impl State {
    pub(super) fn snapshot(&self, resource: &str, revision: u64) -> Snapshot {
        let mut overlay = BTreeMap::new();
        if revision < self.revision {
            let start = self.history.partition_point(|e| e.revision() <= revision);
            for ev in self
                .history
                .range(start..)
                .filter(|e| e.resource == resource)
            {
                let key: Box<str> = stored_key(&ev.object).into();
                overlay.entry(key).or_insert_with(|| match ev.kind {
                    EventType::Added => None,
                    _ => ev.prev.clone(),
                });
            }
        }
        Snapshot { revision, overlay }
    }
}

/// Items of `objects` overlaid by `overlay`, in key order, from `lower` to `upper`.
pub(super) fn merged<'a>(
    objects: Option<&'a BTreeMap<Arc<str>, Arc<Stored>>>,
    overlay: &'a BTreeMap<Box<str>, Option<Arc<Stored>>>,
    lower: Bound<&'a str>,
    upper: Bound<&'a str>,
) -> impl Iterator<Item = (&'a str, &'a Arc<Stored>)> + 'a {
    // `BTreeMap::range` panics on inverted bounds, which a forged continue token can produce.
    let inverted = match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            l >= u
        }
        _ => false,
    };
    let objects = objects.filter(|_| !inverted);
    let overlay = Some(overlay).filter(|_| !inverted);
    let mut cur = objects
        .map(|o| o.range::<str, _>((lower, upper)))
        .into_iter()
        .flatten()
        .peekable();
    let mut over = overlay
        .map(|o| o.range::<str, _>((lower, upper)))
        .into_iter()
        .flatten()
        .peekable();
    std::iter::from_fn(move || {
        loop {
            let take_over = match (cur.peek(), over.peek()) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((ck, _)), Some((ok, _))) => {
                    if ***ck == ***ok {
                        cur.next();
                        true
                    } else {
                        ***ok < ***ck
                    }
                }
            };
            if take_over {
                let (k, v) = over.next()?;
                if let Some(v) = v {
                    return Some((&**k, v));
                }
            } else {
                let (k, v) = cur.next()?;
                return Some((&**k, v));
            }
        }
    })
}

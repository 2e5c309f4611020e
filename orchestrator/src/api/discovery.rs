//! Discovery documents: `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>` and `/version`.
//! (Skeleton: the openapi/discovery helper fills this in.)

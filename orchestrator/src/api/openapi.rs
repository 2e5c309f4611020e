//! OpenAPI documents (`/openapi/v2`, `/openapi/v3`) generated from the k8s-openapi types.
//! (Skeleton: the openapi/discovery helper fills this in.)

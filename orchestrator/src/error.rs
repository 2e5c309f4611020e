//! The API's error type: every failure a client can see is a `metav1.Status` with upstream's code,
//! reason and (for 422) causes naming each field.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

/// Upstream's `metav1.StatusReason` values we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    AlreadyExists,
    Conflict,
    Gone,
    Expired,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    NotAcceptable,
    Invalid,
    TooManyRequests,
    InternalError,
    Timeout,
}

impl Reason {
    /// The reason as it appears in `Status.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Unauthorized => "Unauthorized",
            Reason::Forbidden => "Forbidden",
            Reason::NotFound => "NotFound",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Gone => "Gone",
            Reason::Expired => "Expired",
            Reason::RequestEntityTooLarge => "RequestEntityTooLarge",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::NotAcceptable => "NotAcceptable",
            Reason::Invalid => "Invalid",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::InternalError => "InternalError",
            Reason::Timeout => "Timeout",
        }
    }
}

/// One field-level cause of a 422 Invalid (upstream `field.Error`, rendered as a `StatusCause`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueForbidden`,
    /// `FieldValueDuplicate`, `FieldValueTooLong`, `FieldValueTypeInvalid`, `FieldValueNotFound`.
    pub kind: CauseKind,
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// The message as upstream renders it, e.g. `Required value` or
    /// `Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of …`.
    pub message: String,
}

/// The `type` of a [`Cause`], as upstream's `field.ErrorType` names it in `StatusCause.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CauseKind {
    Invalid,
    Required,
    NotSupported,
    Forbidden,
    Duplicate,
    TooLong,
    TypeInvalid,
    NotFound,
    /// Not a field error: upstream's `NamespaceTerminating` cause on a create refused because the
    /// namespace is being terminated.
    NamespaceTerminating,
}

impl CauseKind {
    /// `StatusCause.reason` for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::Invalid => "FieldValueInvalid",
            CauseKind::Required => "FieldValueRequired",
            CauseKind::NotSupported => "FieldValueNotSupported",
            CauseKind::Forbidden => "FieldValueForbidden",
            CauseKind::Duplicate => "FieldValueDuplicate",
            CauseKind::TooLong => "FieldValueTooLong",
            CauseKind::TypeInvalid => "FieldValueTypeInvalid",
            CauseKind::NotFound => "FieldValueNotFound",
            CauseKind::NamespaceTerminating => "NamespaceTerminating",
        }
    }
}

impl Cause {
    /// `Invalid value: <value>: <detail>` as upstream's `field.Invalid`.
    pub fn invalid(field: impl Into<String>, value: &serde_json::Value, detail: &str) -> Self {
        let shown = match value {
            serde_json::Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        let message = if detail.is_empty() {
            format!("Invalid value: {shown}")
        } else {
            format!("Invalid value: {shown}: {detail}")
        };
        Self {
            kind: CauseKind::Invalid,
            field: field.into(),
            message,
        }
    }

    /// `Required value` (optionally `: detail`) as upstream's `field.Required`.
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            kind: CauseKind::Required,
            field: field.into(),
            message,
        }
    }

    /// `Forbidden: detail` as upstream's `field.Forbidden`.
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self {
            kind: CauseKind::Forbidden,
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    /// `Unsupported value: "x": supported values: "a", "b"` as upstream's `field.NotSupported`.
    pub fn not_supported(
        field: impl Into<String>,
        value: &serde_json::Value,
        supported: &[&str],
    ) -> Self {
        let shown = match value {
            serde_json::Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self {
            kind: CauseKind::NotSupported,
            field: field.into(),
            message: format!(
                "Unsupported value: {shown}: supported values: {}",
                list.join(", ")
            ),
        }
    }

    /// `Duplicate value: <value>` as upstream's `field.Duplicate`.
    pub fn duplicate(field: impl Into<String>, value: &serde_json::Value) -> Self {
        let shown = match value {
            serde_json::Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        Self {
            kind: CauseKind::Duplicate,
            field: field.into(),
            message: format!("Duplicate value: {shown}"),
        }
    }

    /// `Not found: <value>` as upstream's `field.NotFound`.
    pub fn not_found(field: impl Into<String>, value: &serde_json::Value) -> Self {
        Self {
            kind: CauseKind::NotFound,
            field: field.into(),
            message: format!("Not found: {value}"),
        }
    }

    /// `Too long: may not be more than N bytes` as upstream's `field.TooLong`.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            kind: CauseKind::TooLong,
            field: field.into(),
            message: format!("Too long: may not be more than {max} bytes"),
        }
    }

    /// Upstream's rendering of one `field.Error`: `<field>: <message>`.
    pub fn render(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// An error the API returns to a client, convertible to `metav1.Status`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    pub reason: Reason,
    pub message: String,
    /// `details.group` / `details.kind` (upstream puts the resource, e.g. `pods`, in `kind`).
    pub group: String,
    pub kind: String,
    pub name: String,
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds`, when set.
    pub retry_after_seconds: Option<i32>,
}

/// The API layer's result type.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    /// A bare error with a code, reason and message and no details.
    pub fn new(code: u16, reason: Reason, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            group: String::new(),
            kind: String::new(),
            name: String::new(),
            causes: Vec::new(),
            retry_after_seconds: None,
        }
    }

    fn qualified(group: &str, resource: &str) -> String {
        if group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{group}")
        }
    }

    fn with_details(mut self, group: &str, resource: &str, name: &str) -> Self {
        self.group = group.to_string();
        self.kind = resource.to_string();
        self.name = name.to_string();
        self
    }

    /// 404: `pods "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let q = Self::qualified(group, resource);
        Self::new(404, Reason::NotFound, format!("{q} \"{name}\" not found"))
            .with_details(group, resource, name)
    }

    /// 409 AlreadyExists: `pods "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let q = Self::qualified(group, resource);
        Self::new(
            409,
            Reason::AlreadyExists,
            format!("{q} \"{name}\" already exists"),
        )
        .with_details(group, resource, name)
    }

    /// 409 Conflict: `Operation cannot be fulfilled on pods "x": <detail>`.
    pub fn conflict(group: &str, resource: &str, name: &str, detail: &str) -> Self {
        let q = Self::qualified(group, resource);
        Self::new(
            409,
            Reason::Conflict,
            format!("Operation cannot be fulfilled on {q} \"{name}\": {detail}"),
        )
        .with_details(group, resource, name)
    }

    /// 409 Conflict for a stale `resourceVersion`, worded as upstream.
    pub fn stale(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 Invalid: `Pod "x" is invalid: [spec.containers: Required value, …]`.
    /// `kind` is the object's Kind (upstream uses the Kind here, not the resource).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let q = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let rendered: Vec<String> = causes.iter().map(Cause::render).collect();
        let list = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let mut e = Self::new(
            422,
            Reason::Invalid,
            format!("{q} \"{name}\" is invalid: {list}"),
        )
        .with_details(group, kind, name);
        e.causes = causes;
        e
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, Reason::BadRequest, message)
    }

    /// 403 Forbidden: `pods "x" is forbidden: <detail>`.
    pub fn forbidden(group: &str, resource: &str, name: &str, detail: &str) -> Self {
        let q = Self::qualified(group, resource);
        Self::new(
            403,
            Reason::Forbidden,
            format!("{q} \"{name}\" is forbidden: {detail}"),
        )
        .with_details(group, resource, name)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, Reason::Unauthorized, "Unauthorized")
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(verb: &str, what: &str) -> Self {
        Self::new(
            405,
            Reason::MethodNotAllowed,
            format!("{verb} is not supported on resources of kind {what:?}"),
        )
    }

    /// 410 Expired, for a watch or list resourceVersion older than the retained history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, Reason::Expired, message)
    }

    /// 410 Gone.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, Reason::Gone, message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            Reason::RequestEntityTooLarge,
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf; got {content_type:?}"
            ),
        )
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            Reason::InternalError,
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// The `metav1.Status` a client receives.
    pub fn to_status(&self) -> Status {
        let has_details = !self.name.is_empty()
            || !self.kind.is_empty()
            || !self.causes.is_empty()
            || self.retry_after_seconds.is_some();
        let details = has_details.then(|| StatusDetails {
            group: (!self.group.is_empty()).then(|| self.group.clone()),
            kind: (!self.kind.is_empty()).then(|| self.kind.clone()),
            name: (!self.name.is_empty()).then(|| self.name.clone()),
            uid: None,
            retry_after_seconds: self.retry_after_seconds,
            causes: (!self.causes.is_empty()).then(|| {
                self.causes
                    .iter()
                    .map(|c| StatusCause {
                        field: Some(c.field.clone()),
                        message: Some(c.message.clone()),
                        reason: Some(c.kind.as_str().to_string()),
                    })
                    .collect()
            }),
        });
        Status {
            code: Some(i32::from(self.code)),
            details,
            message: Some(self.message.clone()),
            metadata: Default::default(),
            reason: Some(self.reason.as_str().to_string()),
            status: Some("Failure".to_string()),
        }
    }

    /// The status serialized with `kind: Status` and `apiVersion: v1`, as the wire carries it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.to_status()).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.insert("kind".into(), "Status".into());
            map.insert("apiVersion".into(), "v1".into());
            map.entry("metadata")
                .or_insert_with(|| serde_json::json!({}));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_cause_like_upstream() {
        let e = ApiError::invalid(
            "",
            "Pod",
            "p",
            vec![
                Cause::required("spec.containers", ""),
                Cause::invalid("metadata.name", &"A".into(), "bad"),
            ],
        );
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "Pod \"p\" is invalid: [spec.containers: Required value, metadata.name: Invalid value: \"A\": bad]"
        );
        let s = e.to_json();
        assert_eq!(s["kind"], "Status");
        assert_eq!(s["reason"], "Invalid");
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueRequired");
        assert_eq!(s["details"]["causes"][1]["field"], "metadata.name");
    }

    #[test]
    fn not_found_names_group_qualified_resource() {
        let e = ApiError::not_found("apps", "deployments", "web");
        assert_eq!(e.message, "deployments.apps \"web\" not found");
        assert_eq!(e.to_json()["details"]["kind"], "deployments");
    }
}

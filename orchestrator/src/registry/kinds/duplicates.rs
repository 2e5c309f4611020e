//! Duplicate keys in a request body. serde keeps the last of two equal keys silently; upstream's
//! strict decoder reports each (`duplicate field "spec.replicas"`), as an error under
//! `fieldValidation=Strict` and a warning under `Warn`. This is one linear pass over a body that
//! has already parsed, so it never meets malformed JSON.

/// The paths of keys repeated within one JSON object, in upstream's notation.
#[cfg(test)]
fn duplicate_fields(body: &[u8]) -> Vec<String> {
    scan(body, &[]).0.into_iter().map(|(_, p)| p).collect()
}

/// Unknown and duplicate fields as upstream's strict decoder reports them: in the order they
/// occur in the body. `unknown` are the paths serde ignored.
pub(crate) fn field_problems(body: &[u8], unknown: &[String]) -> Vec<String> {
    let (dups, offsets) = scan(body, unknown);
    let mut problems: Vec<(usize, String)> = unknown
        .iter()
        .zip(offsets)
        .map(|(p, at)| (at.unwrap_or(usize::MAX), format!("unknown field {p:?}")))
        .chain(
            dups.into_iter()
                .map(|(at, p)| (at, format!("duplicate field {p:?}"))),
        )
        .collect();
    problems.sort_by_key(|(at, _)| *at);
    problems.into_iter().map(|(_, p)| p).collect()
}

/// One pass: the duplicate keys (with their offsets) and the first offset of each `watch` path.
fn scan(body: &[u8], watch: &[String]) -> (Vec<(usize, String)>, Vec<Option<usize>>) {
    let mut scanner = Scanner {
        body,
        pos: 0,
        found: Vec::new(),
        watch,
        seen: vec![None; watch.len()],
    };
    let mut path = String::new();
    scanner.value(&mut path);
    (scanner.found, scanner.seen)
}

struct Scanner<'a> {
    body: &'a [u8],
    pos: usize,
    found: Vec<(usize, String)>,
    watch: &'a [String],
    seen: Vec<Option<usize>>,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.body.len() && self.body[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.body.get(self.pos).copied().unwrap_or(0)
    }

    /// A string starting at `pos` (on its opening quote); returns its decoded text.
    fn string(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        while self.pos < self.body.len() {
            match self.body[self.pos] {
                b'\\' => {
                    escaped = true;
                    self.pos += 2;
                    continue;
                }
                b'"' => break,
                _ => {}
            }
            self.pos += 1;
        }
        self.pos += 1;
        let raw = &self.body[start..self.pos.min(self.body.len())];
        if escaped {
            serde_json::from_slice(raw).unwrap_or_default()
        } else {
            String::from_utf8_lossy(&raw[1..raw.len().saturating_sub(1)]).into_owned()
        }
    }

    fn value(&mut self, path: &mut String) {
        self.skip_ws();
        match self.peek() {
            b'{' => self.object(path),
            b'[' => self.array(path),
            b'"' => {
                self.string();
            }
            _ => {
                while self.pos < self.body.len()
                    && !matches!(self.body[self.pos], b',' | b'}' | b']')
                    && !self.body[self.pos].is_ascii_whitespace()
                {
                    self.pos += 1;
                }
            }
        }
    }

    fn object(&mut self, path: &mut String) {
        self.pos += 1;
        let mut keys: Vec<String> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                b'}' => {
                    self.pos += 1;
                    return;
                }
                b',' => {
                    self.pos += 1;
                    continue;
                }
                b'"' => {}
                _ => return,
            }
            let at = self.pos;
            let key = self.string();
            self.skip_ws();
            self.pos += 1; // ':'
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            if keys.contains(&key) {
                self.found.push((at, path.clone()));
            } else {
                keys.push(key);
            }
            if let Some(i) = self.watch.iter().position(|w| *w == *path)
                && self.seen[i].is_none()
            {
                self.seen[i] = Some(at);
            }
            self.value(path);
            path.truncate(len);
        }
    }

    fn array(&mut self, path: &mut String) {
        self.pos += 1;
        let mut index = 0;
        loop {
            self.skip_ws();
            match self.peek() {
                b']' => {
                    self.pos += 1;
                    return;
                }
                b',' => {
                    self.pos += 1;
                    continue;
                }
                0 => return,
                _ => {}
            }
            let len = path.len();
            path.push_str(&format!("[{index}]"));
            self.value(path);
            path.truncate(len);
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_repeated_keys_at_any_depth() {
        let body = br#"{"spec": {"replicas": 1, "replicas": 2, "template": {"spec": {"containers": [{"name": "a", "name": "b"}]}}},
            "metadata": {"labels": {"a\"b": "1", "a\"b": "2"}}}"#;
        assert_eq!(
            duplicate_fields(body),
            vec![
                "spec.replicas",
                "spec.template.spec.containers[0].name",
                "metadata.labels.a\"b"
            ]
        );
    }

    #[test]
    fn problems_come_in_body_order() {
        let body =
            br#"{"spec": {"replicas": 1, "replicas": 2, "x": {"unknownField": 1}}, "foo": 0}"#;
        let unknown = vec!["foo".to_string(), "spec.x.unknownField".to_string()];
        assert_eq!(
            field_problems(body, &unknown),
            vec![
                "duplicate field \"spec.replicas\"",
                "unknown field \"spec.x.unknownField\"",
                "unknown field \"foo\""
            ]
        );
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        assert!(
            duplicate_fields(br#"{"a": {"x": 1}, "b": {"x": [1, {"x": 2}]}, "c": "x"}"#).is_empty()
        );
    }
}

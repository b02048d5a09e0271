//! The path language of `AUTH_JWT_CUSTOM_CLAIMS`, upstream's: `profile.org.id`, `m.l[2]`,
//! `orgs[].id` or `orgs[*].id` (every element), `m.d[?(@.v == 'a')].id` (a filter), and
//! upstream's older form ending in `[]` (`m.lm.id[]`: every `id` under `m.lm`). Paths are
//! translated to RFC 9535 JSONPath, which `serde_json_path` evaluates, except the `[]` ending,
//! whose walk is upstream's own and not JSONPath.

use std::fmt;

use serde_json::Value;
use serde_json_path::JsonPath;

/// A parsed claim path.
#[derive(Clone)]
pub struct ClaimPath {
    text: String,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// Ends in `[]`: the dot-separated names, walked by `walk`.
    Walk(Vec<String>),
    /// Any other path; `many` when it selects every element or a filtered set (an array claim).
    Query { query: JsonPath, many: bool },
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimPath({:?})", self.text)
    }
}

impl ClaimPath {
    /// Parses a path; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ClaimPath, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty path".into());
        }
        let kind = if text.ends_with("[]") {
            // Upstream trims every trailing `[`/`]` of each name; so do we.
            let names = text
                .split('.')
                .map(|name| name.trim_end_matches(['[', ']']).to_owned())
                .collect();
            Kind::Walk(names)
        } else {
            let query = JsonPath::parse(&to_jsonpath(text)).map_err(|e| e.to_string())?;
            let many = text.contains("[]") || text.contains("[*]") || text.contains("[?");
            Kind::Query { query, many }
        };
        Ok(ClaimPath {
            text: text.to_owned(),
            kind,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path in `data`, `None` when there is none (missing, or `null`).
    /// A path over many elements yields an array of what it found.
    // Nhost: a wildcard or filter matching nothing yields nothing here, so the default
    // applies; upstream yields an empty array when the array itself exists.
    pub fn select(&self, data: &Value) -> Option<Value> {
        let found = match &self.kind {
            Kind::Walk(names) => walk(data, names),
            Kind::Query { query, many: true } => {
                let nodes = query.query(data).all();
                (!nodes.is_empty()).then(|| Value::Array(nodes.into_iter().cloned().collect()))
            }
            Kind::Query { query, many: false } => query.query(data).first().cloned(),
        };
        found.filter(|value| !value.is_null())
    }

    /// The GraphQL fields the path reads, as upstream selects them: each dotted name without
    /// its brackets, stopping at `metadata` (a JSON column, selected whole); a filter adds the
    /// fields it compares, under the filtered field.
    pub fn fields(&self) -> Vec<Vec<String>> {
        let segments = split_segments(&self.text);
        let mut fields = vec![graphql_field(&segments)];
        if let Some(at) = segments.iter().position(|s| s.contains("[?")) {
            let base = graphql_field(segments.get(..=at).unwrap_or_default());
            for compared in filter_fields(segments.get(at).map_or("", String::as_str)) {
                let mut field = base.clone();
                field.extend(compared.split('.').map(str::to_owned));
                fields.push(field);
            }
        }
        fields
    }
}

/// Upstream's walk for paths ending in `[]`: follow object keys; at an array, apply the rest
/// of the path to every element (a missing value becomes `null` there).
fn walk(data: &Value, names: &[String]) -> Option<Value> {
    let Some((name, rest)) = names.split_first() else {
        return Some(data.clone());
    };
    match data {
        Value::Object(map) => map.get(name).and_then(|value| walk(value, rest)),
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|item| walk(item, names).unwrap_or(Value::Null))
                .collect(),
        )),
        _ => None,
    }
}

/// Splits at dots outside brackets (a filter may hold dots: `[?(@.a.b == 'x')]`).
fn split_segments(text: &str) -> Vec<String> {
    let mut segments = vec![String::new()];
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                segments.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = segments.last_mut() {
            last.push(c);
        }
    }
    segments
}

/// `a.b[?(@.x == 'y')].c[]` -> `$['a']['b'][?(@.x == 'y')]['c'][*]`: names in bracket form,
/// so names JSONPath's shorthand would refuse (`org-id`) still work; `[]` means `[*]`.
fn to_jsonpath(text: &str) -> String {
    let mut path = String::from("$");
    for segment in split_segments(text) {
        let (name, brackets) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if !name.is_empty() {
            let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
            path.push_str(&format!("['{escaped}']"));
        }
        path.push_str(&brackets.replace("[]", "[*]"));
    }
    path
}

fn graphql_field(segments: &[String]) -> Vec<String> {
    let mut field = Vec::new();
    for segment in segments {
        let name = segment.split('[').next().unwrap_or_default();
        field.push(name.to_owned());
        if field.len() == 1 && name == "metadata" {
            break;
        }
    }
    field
}

/// The `@.field` names a filter segment compares.
fn filter_fields(segment: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for (_, after) in segment
        .match_indices("@.")
        .map(|(i, _)| segment.split_at(i + 2))
    {
        let end = after
            .find(|c: char| " )=!<>&|".contains(c))
            .unwrap_or(after.len());
        let field = after.get(..end).unwrap_or_default().to_owned();
        if !field.is_empty() && !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::config::VARIABLES;
use crate::config::providers::PROVIDER_VARIABLE_PATTERNS;

#[test]
fn reference_covers_every_variable_exactly_once() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for v in REFERENCE.iter().flat_map(|(_, vars)| vars.iter()) {
        *seen.entry(v.name).or_default() += 1;
    }
    for name in VARIABLES.iter().chain(PROVIDER_VARIABLE_PATTERNS) {
        assert_eq!(
            seen.remove(name),
            Some(1),
            "{name}: one entry in reference.rs"
        );
    }
    assert!(seen.is_empty(), "not in config::VARIABLES: {seen:?}");
}

#[test]
fn every_section_appears_once_and_no_entry_is_empty() {
    let groups: Vec<Group> = REFERENCE.iter().map(|(g, _)| *g).collect();
    for (i, g) in groups.iter().enumerate() {
        assert!(!groups[i + 1..].contains(g), "{g:?} appears twice");
    }
    let entries: Vec<&Variable> = REFERENCE.iter().flat_map(|(_, v)| v.iter()).collect();
    for v in entries {
        assert!(
            !v.default.is_empty() && !v.description.is_empty(),
            "{}",
            v.name
        );
        assert!(!v.description.contains('\n'), "{}: one line", v.name);
        assert!(
            !v.description.contains(" | "),
            "{}: a `|` breaks the table",
            v.name
        );
    }
}

/// The committed page must be what the code generates. Regenerate with
/// `LATCHKEY_UPDATE_DOCS=1 cargo test --lib config`.
#[test]
fn committed_configuration_page_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/configuration.md");
    let generated = markdown();
    if std::env::var_os("LATCHKEY_UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run `LATCHKEY_UPDATE_DOCS=1 cargo test --lib config` and commit it",
        path.display()
    );
}

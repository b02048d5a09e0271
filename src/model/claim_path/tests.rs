use serde_json::json;

use super::*;

/// Upstream's own test document (go/controller/custom_claims_test.go).
fn data() -> Value {
    json!({
        "m": {
            "k": "v",
            "l": ["a", "b", "c"],
            "l2": ["a"],
            "lm": [{"id": 1}, {"id": 2}, {"id": 3}],
            "d": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "a"}],
        },
        "metadata": {"m1": 1},
    })
}

fn select(path: &str) -> Option<Value> {
    ClaimPath::parse(path).unwrap().select(&data())
}

#[test]
fn selects_as_upstream_does() {
    let cases = [
        ("m", Some(data()["m"].clone())),
        ("m.k", Some(json!("v"))),
        ("m.l[2]", Some(json!("c"))),
        ("m.l[]", Some(json!(["a", "b", "c"]))),
        ("m.l[*]", Some(json!(["a", "b", "c"]))),
        ("m.lm[].id", Some(json!([1, 2, 3]))),
        ("m.lm[*].id", Some(json!([1, 2, 3]))),
        ("m.lm.id[]", Some(json!([1, 2, 3]))),
        ("m.l2[]", Some(json!(["a"]))),
        ("metadata.m1", Some(json!(1))),
        ("nonexistent.nonexistent", None),
        ("m.d[?(@.v == 'a')].id", Some(json!([1, 3]))),
        ("m.d[?(@.v=='b')].id", Some(json!([2]))),
        ("m.d[?(@.v == 'zzz')].id", None),
        ("m.l[7]", None),
    ];
    for (path, want) in cases {
        assert_eq!(select(path), want, "{path}");
    }
}

#[test]
fn null_counts_as_nothing_and_odd_names_work() {
    let doc = json!({"org-id": "o1", "it's": 2, "gone": null});
    let at = |p: &str| ClaimPath::parse(p).unwrap().select(&doc);
    assert_eq!(at("org-id"), Some(json!("o1")));
    assert_eq!(at("it's"), Some(json!(2)));
    assert_eq!(at("gone"), None);
}

#[test]
fn bad_paths_are_refused() {
    for bad in ["", "  ", "m.d[?(@.v == )].id", "m[", "m.l[x]"] {
        assert!(ClaimPath::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn fields_follow_upstreams_selection() {
    let fields = |p: &str| ClaimPath::parse(p).unwrap().fields();
    assert_eq!(fields("m.l[2]"), vec![vec!["m", "l"]]);
    assert_eq!(fields("metadata.a.b"), vec![vec!["metadata"]]);
    assert_eq!(fields("m.lm.id[]"), vec![vec!["m", "lm", "id"]]);
    assert_eq!(
        fields("m.d[?(@.v == 'a' && @.w.x > 1)].id"),
        vec![
            vec!["m", "d", "id"],
            vec!["m", "d", "v"],
            vec!["m", "d", "w", "x"]
        ]
    );
}

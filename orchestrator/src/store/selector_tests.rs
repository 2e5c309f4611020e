//! Selector tables, mostly upstream's own cases (labels/selector_test.go, fields/selector_test.go).

use rstest::rstest;

use super::*;

fn ls(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn labels<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |k| pairs.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v)
}

#[rstest]
#[case("", Tok::End)]
#[case(",", Tok::Comma)]
#[case("notin", Tok::NotIn)]
#[case("in", Tok::In)]
#[case("=", Tok::Equals)]
#[case("==", Tok::DoubleEquals)]
#[case(">", Tok::GreaterThan)]
#[case("<", Tok::LessThan)]
#[case("!", Tok::DoesNotExist)]
#[case("!=", Tok::NotEquals)]
#[case("(", Tok::OpenPar)]
#[case(")", Tok::ClosedPar)]
#[case("~", Tok::Identifier)]
#[case("||", Tok::Identifier)]
fn lexes_like_upstream(#[case] s: &str, #[case] tok: Tok) {
    assert_eq!(lex(s)[0].0, tok);
}

#[rstest]
#[case("", "")]
#[case("\rx", "x")]
#[case(
    "this-is-a-dns.domain.com/key-with-dash",
    "this-is-a-dns.domain.com/key-with-dash"
)]
#[case(
    "this-is-another-dns.domain.com/key-with-dash in (so,what)",
    "this-is-another-dns.domain.com/key-with-dash in (so,what)"
)]
#[case(
    "0.1.2.domain/99 notin (10.10.100.1, tick.tock.clock)",
    "0.1.2.domain/99 notin (10.10.100.1,tick.tock.clock)"
)]
#[case("foo  in\t (abc)", "foo in (abc)")]
#[case("x notin\n (abc)", "x notin (abc)")]
#[case("x in (abc,def)", "x in (abc,def)")]
#[case("x in (abc,)", "x in (,abc)")]
#[case("x in ()", "x in ()")]
#[case("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()")]
#[case("x,y in (a)", "x,y in (a)")]
#[case("x=a", "x=a")]
#[case("x==a", "x=a")]
#[case("x>1", "x>1")]
#[case("x<7", "x<7")]
#[case("x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)")]
#[case("x notin ( )", "x notin ()")]
#[case("x notin (, a)", "x notin (,a)")]
#[case("a ", "a")]
#[case("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)")]
#[case("!x", "!x")]
#[case("x=", "x=")]
#[case("x= ,z= ", "x=,z=")]
#[case("b=1,a=2", "a=2,b=1")]
fn parses_upstream_good_selectors(#[case] s: &str, #[case] rendered: &str) {
    assert_eq!(ls(s).to_string(), rendered);
}

#[rstest]
#[case(
    "x=a||y=b",
    "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)]
#[case("x==a==b", "found '==', expected: ',' or 'end of string'")]
#[case("!x=a", "found '=', expected: ',' or 'end of string'")]
#[case("x,,y", "found ',', expected: identifier after ','")]
#[case(",x,y", "found ',', expected: !, identifier, or 'end of string'")]
#[case(
    "x nott in (y)",
    "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"
)]
#[case("a in (xyz),", "found '', expected: identifier after ','")]
#[case("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'")]
#[case(
    "a in (xyz abc)",
    "unable to parse requirement: found 'abc', expected: ',' or ')'"
)]
#[case(
    "a notin(",
    "unable to parse requirement: found '', expected: ',', ')' or identifier"
)]
#[case(
    "a (",
    "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"
)]
#[case("(", "found '(', expected: !, identifier, or 'end of string'")]
#[case("a in b", "unable to parse requirement: found 'b' expected: '('")]
#[case("a=(", "unable to parse requirement: found '(', expected: identifier")]
#[case(
    "x<a",
    "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"
)]
#[case(
    "a b=c",
    "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
)]
#[case(
    "-x=a",
    "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)]
#[case("x=a b", "found 'b', expected: ',' or 'end of string'")]
#[case(
    "x=-a",
    "unable to parse requirement: values[0][x]: Invalid value: \"-a\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)]
#[case(
    "Example.com/x",
    "unable to parse requirement: <nil>: Invalid value: \"Example.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)]
fn rejects_bad_selectors_with_upstream_wording(#[case] s: &str, #[case] msg: &str) {
    assert_eq!(LabelSelector::parse(s).unwrap_err().0, msg);
}

#[test]
fn rejects_overlong_keys_and_values() {
    let long = "a".repeat(64);
    let e = LabelSelector::parse(&long).unwrap_err().0;
    assert!(e.contains("name part must be no more than 63 bytes"), "{e}");
    let e = LabelSelector::parse(&format!("x={long}")).unwrap_err().0;
    assert!(
        e.starts_with("unable to parse requirement: values[0][x]: Invalid value:"),
        "{e}"
    );
    assert!(e.contains("must be no more than 63 bytes"), "{e}");
    let e = LabelSelector::parse("a/b/c").unwrap_err().0;
    assert!(e.contains("a valid label key must consist of"), "{e}");
}

#[rstest]
#[case("x=y", &[("x", "y")], true)]
#[case("x=y", &[("x", "z")], false)]
#[case("x=y", &[], false)]
#[case("x!=y", &[], true)]
#[case("x!=y", &[("x", "y")], false)]
#[case("x=", &[("x", "")], true)]
#[case("x", &[("x", "")], true)]
#[case("!x", &[("x", "")], false)]
#[case("!x", &[("y", "")], true)]
#[case("x in (a,b)", &[("x", "b")], true)]
#[case("x in (a,b)", &[], false)]
#[case("x notin (a,b)", &[], true)]
#[case("x notin (a,b)", &[("x", "a")], false)]
#[case("x in ()", &[("x", "")], true)]
#[case("x>1", &[("x", "2")], true)]
#[case("x>1", &[("x", "1")], false)]
#[case("x>1", &[("x", "abc")], false)]
#[case("x>1", &[], false)]
#[case("x<1", &[("x", "-5")], true)]
#[case("x=a,y=b", &[("x", "a"), ("y", "b")], true)]
#[case("x=a,y=b", &[("x", "a")], false)]
#[case("", &[("x", "a")], true)]
fn label_selectors_match_as_upstream(
    #[case] sel: &str,
    #[case] set: &[(&str, &str)],
    #[case] want: bool,
) {
    assert_eq!(ls(sel).matches(labels(set)), want, "{sel} on {set:?}");
}

#[test]
fn converts_metav1_label_selectors() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        LabelSelector as L, LabelSelectorRequirement as R,
    };
    let req = |k: &str, op: &str, vs: Option<Vec<&str>>| R {
        key: k.into(),
        operator: op.into(),
        values: vs.map(|v| v.into_iter().map(String::from).collect()),
    };
    let sel = L {
        match_labels: Some([("app".to_string(), "web".to_string())].into()),
        match_expressions: Some(vec![
            req("tier", "In", Some(vec!["b", "a"])),
            req("env", "NotIn", Some(vec!["prod"])),
            req("x", "Exists", None),
            req("y", "DoesNotExist", None),
        ]),
    };
    let s = LabelSelector::from_label_selector(&sel).unwrap();
    assert_eq!(s.to_string(), "app=web,env notin (prod),tier in (a,b),x,!y");
    assert!(s.matches(labels(&[("app", "web"), ("tier", "a"), ("x", "1")])));
    assert!(!s.matches(labels(&[
        ("app", "web"),
        ("tier", "a"),
        ("x", "1"),
        ("y", "")
    ])));

    let bad = L {
        match_labels: None,
        match_expressions: Some(vec![req("a", "Gt", Some(vec!["1"]))]),
    };
    assert_eq!(
        LabelSelector::from_label_selector(&bad).unwrap_err().0,
        "\"Gt\" is not a valid label selector operator"
    );
    let empty_in = L {
        match_labels: None,
        match_expressions: Some(vec![req("a", "In", Some(vec![]))]),
    };
    assert_eq!(
        LabelSelector::from_label_selector(&empty_in).unwrap_err().0,
        "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
    );
    let exists_values = L {
        match_labels: None,
        match_expressions: Some(vec![req("a", "Exists", Some(vec!["v"]))]),
    };
    assert_eq!(
        LabelSelector::from_label_selector(&exists_values)
            .unwrap_err()
            .0,
        "values: Invalid value: []string{\"v\"}: values set must be empty for exists and does not exist"
    );
    let bad_key = L {
        match_labels: Some([("-a".to_string(), "b".to_string())].into()),
        match_expressions: None,
    };
    assert!(
        LabelSelector::from_label_selector(&bad_key)
            .unwrap_err()
            .0
            .starts_with("key: Invalid value: \"-a\": name part")
    );
    assert!(
        LabelSelector::from_label_selector(&L::default())
            .unwrap()
            .is_empty()
    );
}

#[rstest]
#[case("", vec![])]
#[case("a=b", vec![("a", "b", false)])]
#[case("a==b", vec![("a", "b", false)])]
#[case("a!=b", vec![("a", "b", true)])]
#[case("b=2,a=1", vec![("a", "1", false), ("b", "2", false)])]
#[case("a=", vec![("a", "", false)])]
#[case("a=b\\,c,d=e", vec![("a", "b,c", false), ("d", "e", false)])]
#[case("a=b\\=c\\\\", vec![("a", "b=c\\", false)])]
#[case("a=b,,c=d", vec![("a", "b", false), ("c", "d", false)])]
#[case("x!=a=b", vec![])]
fn parses_field_selectors(#[case] s: &str, #[case] want: Vec<(&str, &str, bool)>) {
    match FieldSelector::parse(s) {
        Ok(sel) => {
            let got: Vec<(&str, &str, bool)> = sel
                .terms
                .iter()
                .map(|(f, v, n)| (f.as_str(), v.as_str(), *n))
                .collect();
            assert_eq!(got, want, "{s}");
        }
        Err(e) => assert!(want.is_empty() && s == "x!=a=b", "{s}: {e}"),
    }
}

#[rstest]
#[case("a", "invalid selector: 'a'; can't understand 'a'")]
#[case("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'")]
#[case("x!=a=b", "invalid field selector: unescaped character in value: 61")]
#[case("a=b\\c", "invalid field selector: invalid escape sequence: \\c")]
#[case("a=b\\", "invalid field selector: invalid escape sequence: \\")]
fn rejects_bad_field_selectors(#[case] s: &str, #[case] msg: &str) {
    assert_eq!(FieldSelector::parse(s).unwrap_err().0, msg);
}

#[rstest]
#[case("metadata.name=a", &[("metadata.name", "a")], true)]
#[case("metadata.name=a", &[("metadata.name", "b")], false)]
#[case("spec.nodeName=", &[], true)]
#[case("spec.nodeName!=", &[], false)]
#[case("spec.nodeName!=n1", &[], true)]
#[case("spec.nodeName!=n1", &[("spec.nodeName", "n1")], false)]
#[case("a=1,b=2", &[("a", "1"), ("b", "2")], true)]
#[case("a=1,b=2", &[("a", "1")], false)]
fn field_selectors_match_as_upstream(
    #[case] sel: &str,
    #[case] set: &[(&str, &str)],
    #[case] want: bool,
) {
    assert_eq!(
        FieldSelector::parse(sel).unwrap().matches(labels(set)),
        want
    );
}

#[test]
fn field_selectors_render_escaped() {
    let s = FieldSelector::parse("b!=x\\,y,a=1").unwrap();
    assert_eq!(s.to_string(), "a=1,b!=x\\,y");
}

#[test]
fn arbitrary_input_never_panics() {
    for s in [
        "\0",
        "a\0=b",
        "é=ü",
        "x in (é",
        "!",
        "!!",
        "=",
        "a=é,b in (ü)",
        ")(",
        "a in (,,)",
        "<>",
    ] {
        let _ = LabelSelector::parse(s);
        let _ = FieldSelector::parse(s);
    }
}

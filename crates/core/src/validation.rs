//! Kubernetes name validation, mirroring `k8s.io/apimachinery/pkg/util/validation`.
//!
//! Each `is_*` function takes a string and returns what upstream's function of the same name returns:
//! its error messages, in upstream's order and words (examples and regex strings included), with an
//! empty vector meaning valid. Callers turn the messages into their own errors the way upstream's
//! callers do: one field error per message, or all of them joined with `"; "`.
//!
//! Data flow: a name from an API object or a selector string -> `is_*` -> messages -> the caller's
//! error type ([`crate::selector::Error`], the pod autoscaler's field errors).

/// `qualifiedNameFmt`: a qualified name's name part (and a non-empty label value).
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
/// `qualifiedNameErrMsg`.
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";
const QUALIFIED_NAME_EXAMPLES: [&str; 3] = ["MyName", "my.name", "123-abc"];
const QUALIFIED_NAME_MAX_LENGTH: usize = 63;

/// `labelValueFmt`.
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
/// `labelValueErrMsg`.
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric \
     characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_EXAMPLES: [&str; 3] = ["MyValue", "my_value", "12345"];
const LABEL_VALUE_MAX_LENGTH: usize = 63;

/// `dns1123LabelFmt`.
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
/// `dns1123LabelErrMsg`.
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
     characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_EXAMPLES: [&str; 2] = ["my-name", "123-abc"];
const DNS1123_LABEL_MAX_LENGTH: usize = 63;

/// `dns1123SubdomainFmt`.
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
/// `dns1123SubdomainErrorMsg`.
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
     alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_EXAMPLES: [&str; 1] = ["example.com"];
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS-1123 subdomain, the name at most 63
/// alphanumeric characters, `-`, `_` or `.`, starting and ending with an alphanumeric character.
/// Label keys and annotation keys are qualified names; so are extended resource names.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    qualified_name(value)
}

/// `IsValidLabelValue`: empty, or at most 63 characters of the qualified-name alphabet, starting and
/// ending with an alphanumeric character.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    label_value(value)
}

/// `IsDNS1123Label`: at most 63 lowercase alphanumeric characters or `-`, starting and ending with an
/// alphanumeric character (container names, for instance). A valid subdomain that is not a label is
/// told it must not contain dots.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            // Upstream's reasoning: a valid subdomain whose length was already checked can only have
            // failed as a label because of its dots.
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &DNS1123_LABEL_EXAMPLES,
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`: at most 253 characters of dot-separated DNS-1123 labels (each label's own
/// length is not limited here, as upstream).
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    dns1123_subdomain(value)
}

/// [`is_qualified_name`].
fn qualified_name(value: &str) -> Vec<String> {
    let name_rule = || {
        regex_error(
            QUALIFIED_NAME_ERR_MSG,
            QUALIFIED_NAME_FMT,
            &QUALIFIED_NAME_EXAMPLES,
        )
    };
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {}", empty_error()));
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')",
                name_rule()
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {}", empty_error()));
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX_LENGTH)));
    }
    if !matches_qualified_name(name) {
        errs.push(format!("name part {}", name_rule()));
    }
    errs
}

/// [`is_valid_label_value`].
fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    // `labelValueFmt` is the qualified-name regex made optional.
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &LABEL_VALUE_EXAMPLES,
        ));
    }
    errs
}

/// [`is_dns1123_subdomain`] (a qualified name's prefix is checked with it).
fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &DNS1123_SUBDOMAIN_EXAMPLES,
        ));
    }
    errs
}

/// `EmptyError`.
fn empty_error() -> &'static str {
    "must be non-empty"
}

/// `MaxLenError`.
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `RegexError` with examples (every caller here gives some): the message, the examples and the
/// regex, formatted exactly as upstream, including the double space its `', '` + `" or "` joining
/// leaves between examples.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

// The matchers below are the anchored regexes written out by hand: the rules are small enough, and it
// keeps `regex` out of the dependency tree of a crate every other crate depends on.

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`.
fn matches_dns1123_label(s: &str) -> bool {
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) => edge(first) && edge(last) && s.bytes().all(|c| edge(&c) || c == b'-'),
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: dot-separated labels, none empty.
fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
fn matches_qualified_name(s: &str) -> bool {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Upstream's messages written out in full, so that a change to the constants above shows here.
    const QUALIFIED_NAME_RULE: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_RULE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const LABEL_VALUE_RULE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    const TOO_MANY_PARTS: &str = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";

    struct Case {
        name: &'static str,
        check: fn(&str) -> Vec<String>,
        input: String,
        want: Vec<String>,
    }

    fn case(
        name: &'static str,
        check: fn(&str) -> Vec<String>,
        input: impl Into<String>,
        want: &[&str],
    ) -> Case {
        Case {
            name,
            check,
            input: input.into(),
            want: want.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn name_part(rule: &str) -> String {
        format!("name part {rule}")
    }

    fn prefix_part(rule: &str) -> String {
        format!("prefix part {rule}")
    }

    fn run(cases: Vec<Case>) {
        for c in cases {
            assert_eq!((c.check)(&c.input), c.want, "{}", c.name);
        }
    }

    #[test]
    fn validators_return_upstream_messages() {
        let q = is_qualified_name;
        let label = is_dns1123_label;
        let sub = is_dns1123_subdomain;
        let value = is_valid_label_value;
        let a63 = "a".repeat(63);
        let a64 = "a".repeat(64);
        let name_rule = name_part(QUALIFIED_NAME_RULE);
        let prefix_rule = prefix_part(SUBDOMAIN_RULE);
        run(vec![
            // IsQualifiedName
            case("a plain name is a qualified name", q, "MyName", &[]),
            case(
                "dots, dashes and underscores inside a name are allowed",
                q,
                "my.name_1-x",
                &[],
            ),
            case(
                "a name with a DNS subdomain prefix is a qualified name",
                q,
                "example.com/MyName",
                &[],
            ),
            case("a 63-character name part is at the limit", q, a63.as_str(), &[]),
            case(
                "a 64-character name part is too long",
                q,
                a64.as_str(),
                &["name part must be no more than 63 characters"],
            ),
            case(
                "a 64-character name part ending in a dash gets both the length and the rule",
                q,
                format!("{a63}-"),
                &["name part must be no more than 63 characters", &name_rule],
            ),
            case(
                "a 253-character prefix is at the limit",
                q,
                format!("{}/a", "p".repeat(253)),
                &[],
            ),
            case(
                "a 254-character prefix is too long",
                q,
                format!("{}/a", "p".repeat(254)),
                &["prefix part must be no more than 253 characters"],
            ),
            case(
                "the empty string has an empty name part that also breaks the rule",
                q,
                "",
                &["name part must be non-empty", &name_rule],
            ),
            case(
                "an empty prefix is refused",
                q,
                "/a",
                &["prefix part must be non-empty"],
            ),
            case(
                "an empty name after a prefix is refused",
                q,
                "example.com/",
                &["name part must be non-empty", &name_rule],
            ),
            case(
                "an uppercase prefix is not a DNS subdomain",
                q,
                "Example.com/a",
                &[&prefix_rule],
            ),
            case(
                "a prefix with a trailing dot is refused",
                q,
                "example.com./a",
                &[&prefix_rule],
            ),
            case(
                "an empty prefix and an empty name are both named",
                q,
                "/",
                &[
                    "prefix part must be non-empty",
                    "name part must be non-empty",
                    &name_rule,
                ],
            ),
            case(
                "two slashes are not a qualified name",
                q,
                "a/b/c",
                &[TOO_MANY_PARTS],
            ),
            case("a name starting with a dash is refused", q, "-a", &[&name_rule]),
            case("a name ending with a dot is refused", q, "a.", &[&name_rule]),
            case("a name with a space is refused", q, "my name", &[&name_rule]),
            case("uppercase is allowed in a name part", q, "k8s.io/MyName", &[]),
            // IsDNS1123Label
            case(
                "a lowercase label with digits and dashes is a DNS-1123 label",
                label,
                "my-name-123",
                &[],
            ),
            case("a 63-character label is at the limit", label, a63.as_str(), &[]),
            case(
                "a 64-character label is too long",
                label,
                a64.as_str(),
                &["must be no more than 63 characters"],
            ),
            case(
                "a dotted name is a subdomain, not a label",
                label,
                "a.b",
                &["must not contain dots"],
            ),
            case(
                "a 64-character dotted name is too long and must not contain dots",
                label,
                format!("{}.{}", "a".repeat(31), "a".repeat(32)),
                &["must be no more than 63 characters", "must not contain dots"],
            ),
            case(
                "an uppercase letter is not allowed in a label",
                label,
                "My-name",
                &[LABEL_RULE],
            ),
            case(
                "a label starting with a dash is refused",
                label,
                "-name",
                &[LABEL_RULE],
            ),
            case(
                "a label ending with a dash is refused",
                label,
                "name-",
                &[LABEL_RULE],
            ),
            case(
                "an underscore is not allowed in a label",
                label,
                "my_name",
                &[LABEL_RULE],
            ),
            case("the empty string is not a label", label, "", &[LABEL_RULE]),
            case(
                "a label ending with a dot is not even a subdomain",
                label,
                "name.",
                &[LABEL_RULE],
            ),
            // IsDNS1123Subdomain
            case(
                "a dotted lowercase name is a DNS-1123 subdomain",
                sub,
                "example.com",
                &[],
            ),
            case("a single label is a DNS-1123 subdomain", sub, "my-name", &[]),
            case(
                "a 253-character subdomain is at the limit",
                sub,
                "a".repeat(253),
                &[],
            ),
            case(
                "a 254-character subdomain is too long",
                sub,
                "a".repeat(254),
                &["must be no more than 253 characters"],
            ),
            case(
                "a 254-character subdomain ending in a dot gets both the length and the rule",
                sub,
                format!("{}.", "a".repeat(253)),
                &["must be no more than 253 characters", SUBDOMAIN_RULE],
            ),
            case(
                "an uppercase letter is not allowed in a subdomain",
                sub,
                "Example.com",
                &[SUBDOMAIN_RULE],
            ),
            case(
                "a subdomain starting with a dot is refused",
                sub,
                ".example.com",
                &[SUBDOMAIN_RULE],
            ),
            case(
                "a subdomain ending with a dot is refused",
                sub,
                "example.com.",
                &[SUBDOMAIN_RULE],
            ),
            case(
                "two dots in a row are refused",
                sub,
                "example..com",
                &[SUBDOMAIN_RULE],
            ),
            case(
                "a label ending with a dash inside a subdomain is refused",
                sub,
                "a-.b",
                &[SUBDOMAIN_RULE],
            ),
            case("the empty string is not a subdomain", sub, "", &[SUBDOMAIN_RULE]),
            // IsValidLabelValue
            case("the empty string is a valid label value", value, "", &[]),
            case(
                "uppercase, dots, dashes and underscores make a valid label value",
                value,
                "V.1-x_y",
                &[],
            ),
            case(
                "a 63-character label value is at the limit",
                value,
                a63.as_str(),
                &[],
            ),
            case(
                "a 64-character label value is too long",
                value,
                a64.as_str(),
                &["must be no more than 63 characters"],
            ),
            case(
                "a label value ending with an underscore is refused",
                value,
                "bad_",
                &[LABEL_VALUE_RULE],
            ),
            case(
                "a label value starting with a dash is refused",
                value,
                "-a",
                &[LABEL_VALUE_RULE],
            ),
            case(
                "a slash is not allowed in a label value",
                value,
                "a/b",
                &[LABEL_VALUE_RULE],
            ),
            case(
                "a 64-character label value ending in a dot gets both the length and the rule",
                value,
                format!("{a63}."),
                &["must be no more than 63 characters", LABEL_VALUE_RULE],
            ),
        ]);
    }

    proptest! {
        #[test]
        fn a_label_is_a_subdomain(input in "[a-z0-9.-]{0,70}") {
            if is_dns1123_label(&input).is_empty() {
                prop_assert!(is_dns1123_subdomain(&input).is_empty());
            }
        }
    }
}

//! Kubernetes label selectors, with the semantics of `k8s.io/apimachinery/pkg/labels`.
//!
//! A [`Selector`] is an AND of [`Requirement`]s. It comes from one of two places:
//!
//! - the API object `metav1.LabelSelector` (a Deployment's or a PodDisruptionBudget's
//!   `spec.selector`), through [`Selector::from_label_selector`], which mirrors
//!   `metav1.LabelSelectorAsSelector`;
//! - the string form, such as the `status.selector` of a scale subresource that the HPA controller
//!   reads, through [`Selector::parse`], which mirrors `labels.Parse` (its lexer, its grammar, its
//!   whitespace rules and its key and value validation).
//!
//! Either way the requirements end up sorted by key (stably: requirements on the same key keep their
//! input order) with their values sorted and de-duplicated, so [`Selector`]'s `Display` is upstream's
//! canonical `String()` form and parses back to an equal selector.
//!
//! Two selectors are special: [`Selector::everything`] (no requirement, matches every label set;
//! also what an empty string or an empty `LabelSelector` gives) and [`Selector::nothing`] (matches no
//! label set; what upstream gives for a nil `LabelSelector`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::validation;

/// What can go wrong building a selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A label key is not a qualified name (`[prefix/]name`).
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey {
        /// The offending key.
        key: String,
        /// Why it is invalid, in upstream's words.
        reason: String,
    },
    /// A value is not a valid label value.
    #[error("invalid value {value:?} for label key {key:?}: {reason}")]
    InvalidValue {
        /// The key the value belongs to.
        key: String,
        /// The offending value.
        value: String,
        /// Why it is invalid, in upstream's words.
        reason: String,
    },
    /// The operator needs a different number of values than it was given.
    #[error("wrong number of values for label key {key:?} with operator {operator:?}: got {count}, {reason}")]
    ValueCount {
        /// The key of the requirement.
        key: String,
        /// The operator of the requirement.
        operator: Operator,
        /// How many values were given.
        count: usize,
        /// What the operator needs.
        reason: &'static str,
    },
    /// A `>` or `<` requirement whose value is not a 64-bit integer.
    #[error("invalid value {value:?} for label key {key:?}: operator {operator:?} needs an integer")]
    NotAnInteger {
        /// The key of the requirement.
        key: String,
        /// The operator of the requirement.
        operator: Operator,
        /// The offending value.
        value: String,
    },
    /// A `LabelSelector` match expression with an operator other than In, NotIn, Exists or
    /// DoesNotExist (operators are case-sensitive).
    #[error(
        "{operator:?} is not a valid label selector operator for key {key:?}: \
         expected In, NotIn, Exists or DoesNotExist"
    )]
    UnknownOperator {
        /// The key of the match expression.
        key: String,
        /// The offending operator.
        operator: String,
    },
    /// The string form does not follow the selector grammar.
    #[error(
        "failed to parse label selector {input:?}: found {found} at byte {position}, expected {expected}"
    )]
    Syntax {
        /// The whole selector string.
        input: String,
        /// Byte offset of the offending token in `input`.
        position: usize,
        /// The offending token, quoted, or `end of string`.
        found: String,
        /// What the grammar allows there.
        expected: &'static str,
    },
}

/// The result of selector operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a requirement relates a label's value to its values (`selection.Operator` upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key in (a,b)`: the label is present and its value is one of the values.
    In,
    /// `key notin (a,b)`: the label is absent, or its value is none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key=a`: the label is present with that value.
    Equals,
    /// `key==a`: same as [`Operator::Equals`].
    DoubleEquals,
    /// `key!=a`: the label is absent, or has another value.
    NotEquals,
    /// `key>3`: the label is present and is an integer greater than the value.
    GreaterThan,
    /// `key<3`: the label is present and is an integer less than the value.
    LessThan,
}

impl Operator {
    /// Upstream's `selection.Operator` string: `in`, `notin`, `exists`, `!`, `=`, `==`, `!=`, `gt`, `lt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition on one label key (`labels.Requirement` upstream).
///
/// Built only through [`Requirement::new`] (or parsing), so the key, the values and their count are
/// always valid for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    /// Sorted and de-duplicated. Empty for Exists and DoesNotExist, one value for the exact-match
    /// and integer operators.
    values: Vec<String>,
}

impl Requirement {
    /// Validates and builds a requirement (`labels.NewRequirement`).
    ///
    /// The key must be a qualified name; In and NotIn need at least one value; `=`, `==`, `!=`, `>`
    /// and `<` exactly one; Exists and DoesNotExist none; `>` and `<` need a 64-bit integer; every
    /// value must be a valid label value (the empty string is one). The values are stored sorted and
    /// de-duplicated, which does not change what the requirement matches.
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Result<Requirement> {
        let key = key.into();
        validate_key(&key)?;
        let count_rule = match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                Some("for 'in', 'notin' operators, values set can't be empty")
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
                Some("exact-match compatibility requires one single value")
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                Some("values set must be empty for exists and does not exist")
            }
            Operator::GreaterThan | Operator::LessThan if values.len() != 1 => {
                Some("for 'gt', 'lt' operators, exactly one value is required")
            }
            _ => None,
        };
        if let Some(reason) = count_rule {
            return Err(Error::ValueCount {
                key,
                operator,
                count: values.len(),
                reason,
            });
        }
        if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for value in &values {
                if value.parse::<i64>().is_err() {
                    return Err(Error::NotAnInteger {
                        key,
                        operator,
                        value: value.clone(),
                    });
                }
            }
        }
        for value in &values {
            if let Some(reason) = label_value_problems(value) {
                return Err(Error::InvalidValue {
                    key,
                    value: value.clone(),
                    reason,
                });
            }
        }
        let values: BTreeSet<String> = values.into_iter().collect();
        Ok(Requirement {
            key,
            operator,
            values: values.into_iter().collect(),
        })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and de-duplicated.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a label set satisfies this requirement (`Requirement.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let label = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                label.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => label.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // Upstream parses both sides as base-10 int64; a label that is not one never
                // matches rather than failing.
                let (Some(label), [bound]) = (label, self.values.as_slice()) else {
                    return false;
                };
                let (Ok(label), Ok(bound)) = (label.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    label > bound
                } else {
                    label < bound
                }
            }
        }
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.binary_search_by(|v| v.as_str().cmp(value)).is_ok()
    }
}

impl fmt::Display for Requirement {
    /// Upstream's `Requirement.String()`: `!k`, `k`, `k=v`, `k==v`, `k!=v`, `k>v`, `k<v`,
    /// `k in (a,b)`, `k notin (a,b)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Exists => return f.write_str(&self.key),
            Operator::DoesNotExist => return write!(f, "!{}", self.key),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
        };
        let values = self.values.join(",");
        if matches!(self.operator, Operator::In | Operator::NotIn) {
            write!(f, "{}{op}({values})", self.key)
        } else {
            write!(f, "{}{op}{values}", self.key)
        }
    }
}

/// A label selector: the AND of its requirements, or the selector that matches nothing.
///
/// `Default` is [`Selector::everything`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector {
    /// Sorted by key, stably.
    requirements: Vec<Requirement>,
    /// Upstream's `labels.Nothing()`: matches no label set whatever the requirements say.
    nothing: bool,
}

impl Selector {
    /// The selector that matches every label set (`labels.Everything()`).
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// The selector that matches no label set (`labels.Nothing()`), what a nil `LabelSelector`
    /// stands for. It displays as the empty string, like upstream, so it does not round-trip
    /// through [`Selector::parse`].
    pub fn nothing() -> Selector {
        Selector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// A selector requiring all of `requirements`, sorted stably by key like upstream's `Add`.
    pub fn from_requirements(requirements: impl IntoIterator<Item = Requirement>) -> Selector {
        let mut requirements: Vec<Requirement> = requirements.into_iter().collect();
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector {
            requirements,
            nothing: false,
        }
    }

    /// Whether the selector has no requirement and so matches everything (`Selector.Empty()`).
    /// False for [`Selector::nothing`].
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is [`Selector::nothing`], which matches no label set.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// Parses the string form (`labels.Parse`), e.g. `app=web,tier in (a,b),!legacy,env!=prod`.
    ///
    /// The grammar is upstream's: requirements separated by `,`; each one `key`, `!key`,
    /// `key=value`, `key==value`, `key!=value`, `key>int`, `key<int`, `key in (v1,v2)` or
    /// `key notin (v1,v2)`. Spaces, tabs, CR and LF may separate tokens and are otherwise
    /// ignored. A missing exact value is the empty string (`x=`), and so is an empty slot in a
    /// value list (`x in (a,)`, `x in ()`). `in` and `notin` can be used as keys and values. Keys and
    /// values are validated as label keys and values. The empty string is [`Selector::everything`].
    pub fn parse(s: &str) -> Result<Selector> {
        let mut parser = Parser {
            input: s,
            tokens: lex(s),
            position: 0,
        };
        let requirements = parser.parse()?;
        Ok(Selector::from_requirements(requirements))
    }

    /// Converts the API object (`metav1.LabelSelectorAsSelector`).
    ///
    /// `matchLabels` become `=` requirements and `matchExpressions` become In, NotIn, Exists or
    /// DoesNotExist requirements (In and NotIn need values, Exists and DoesNotExist must have none,
    /// any other operator is an error). A selector with neither is [`Selector::everything`].
    pub fn from_label_selector(ls: &LabelSelector) -> Result<Selector> {
        let labels = ls.match_labels.iter().flatten();
        let expressions = ls.match_expressions.iter().flatten();
        let mut requirements = Vec::new();
        for (key, value) in labels {
            requirements.push(Requirement::new(
                key.clone(),
                Operator::Equals,
                vec![value.clone()],
            )?);
        }
        for expr in expressions {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(Error::UnknownOperator {
                        key: expr.key.clone(),
                        operator: other.to_string(),
                    });
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(expr.key.clone(), operator, values)?);
        }
        Ok(Selector::from_requirements(requirements))
    }

    /// Converts an optional API object: `None` (a nil selector upstream) selects nothing.
    pub fn from_optional_label_selector(ls: Option<&LabelSelector>) -> Result<Selector> {
        ls.map_or_else(|| Ok(Selector::nothing()), Selector::from_label_selector)
    }

    /// Whether a label set satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The requirements, sorted by key. Empty for both [`Selector::everything`] and
    /// [`Selector::nothing`]; tell them apart with [`Selector::is_nothing`].
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for Selector {
    /// Upstream's canonical `String()`: the requirements in key order joined by `,`, values sorted.
    /// Both [`Selector::everything`] and [`Selector::nothing`] display as the empty string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = Error;

    fn from_str(s: &str) -> Result<Selector> {
        Selector::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: the rules and upstream's messages live in `crate::validation`.

/// `validateLabelKey`: the key must be a qualified name; its problems are joined with `"; "`.
fn validate_key(key: &str) -> Result<()> {
    let problems = validation::is_qualified_name(key);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidKey {
            key: key.to_string(),
            reason: problems.join("; "),
        })
    }
}

/// `validateLabelValue`: the value's problems joined with `"; "`, or `None` for a valid label value.
fn label_value_problems(value: &str) -> Option<String> {
    let problems = validation::is_valid_label_value(value);
    (!problems.is_empty()).then(|| problems.join("; "))
}

// ---------------------------------------------------------------------------------------------
// Lexer and parser (the Lexer and Parser of pkg/labels/selector.go).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'a> {
    tok: Tok,
    literal: &'a str,
    /// Byte offset in the input.
    position: usize,
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn special_token(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

/// Splits the input into tokens, always ending with one `EndOfString`.
///
/// Upstream's lexer reads bytes and uses 0 as its end-of-input marker, and this one keeps that: a
/// NUL byte where a token would start ends the input, and a NUL byte right after a token is
/// swallowed as a separator.
fn lex(input: &str) -> Vec<Token<'_>> {
    let b = input.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while pos < b.len() && is_whitespace(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() || b[pos] == 0 {
            tokens.push(Token {
                tok: Tok::EndOfString,
                literal: "",
                position: pos,
            });
            return tokens;
        }
        let start = pos;
        let token = if is_special(b[pos]) {
            // Longest match: every special byte is a token on its own, and `==` and `!=` are the
            // only two-byte ones.
            let two = input.get(start..start + 2).and_then(special_token);
            let (tok, len) = match two {
                Some(tok) => (tok, 2),
                // Every special byte is in the table, so this always finds the one-byte token.
                None => (
                    special_token(&input[start..start + 1]).unwrap_or(Tok::Identifier),
                    1,
                ),
            };
            pos += len;
            Token {
                tok,
                literal: &input[start..pos],
                position: start,
            }
        } else {
            while pos < b.len() && b[pos] != 0 && !is_special(b[pos]) && !is_whitespace(b[pos]) {
                pos += 1;
            }
            let literal = &input[start..pos];
            let tok = match literal {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Identifier,
            };
            Token {
                tok,
                literal,
                position: start,
            }
        };
        tokens.push(token);
        if b.get(pos) == Some(&0) {
            pos += 1;
        }
    }
}

/// Where the parser is: `in` and `notin` are operators after a key, and plain identifiers (keys or
/// values) everywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    position: usize,
}

impl<'a> Parser<'a> {
    fn token_at(&self, position: usize, context: Context) -> Token<'a> {
        // The token list always ends with EndOfString and the grammar never reads past it, but
        // answering EndOfString beyond the end keeps this total.
        let mut token = self
            .tokens
            .get(position)
            .or(self.tokens.last())
            .copied()
            .unwrap_or(Token {
                tok: Tok::EndOfString,
                literal: "",
                position: self.input.len(),
            });
        if context == Context::Values && matches!(token.tok, Tok::In | Tok::NotIn) {
            token.tok = Tok::Identifier;
        }
        token
    }

    fn lookahead(&self, context: Context) -> Token<'a> {
        self.token_at(self.position, context)
    }

    fn consume(&mut self, context: Context) -> Token<'a> {
        let token = self.token_at(self.position, context);
        self.position += 1;
        token
    }

    fn syntax(&self, token: Token<'_>, expected: &'static str) -> Error {
        let found = if token.tok == Tok::EndOfString {
            "end of string".to_string()
        } else {
            format!("{:?}", token.literal)
        };
        Error::Syntax {
            input: self.input.to_string(),
            position: token.position,
            found,
            expected,
        }
    }

    fn parse(&mut self) -> Result<Vec<Requirement>> {
        let mut requirements = Vec::new();
        loop {
            let token = self.lookahead(Context::Values);
            match token.tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    requirements.push(self.parse_requirement()?);
                    let after = self.consume(Context::Values);
                    match after.tok {
                        Tok::EndOfString => return Ok(requirements),
                        Tok::Comma => {
                            let next = self.lookahead(Context::Values);
                            if !matches!(next.tok, Tok::Identifier | Tok::DoesNotExist) {
                                return Err(self.syntax(next, "identifier after ','"));
                            }
                        }
                        _ => return Err(self.syntax(after, "',' or end of string")),
                    }
                }
                Tok::EndOfString => return Ok(requirements),
                _ => return Err(self.syntax(token, "'!', identifier, or end of string")),
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = inferred {
            return Requirement::new(key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, operator, values.into_iter().collect())
    }

    /// Reads `[!]key`. The operator is DoesNotExist after a `!` and Exists when the key is the
    /// whole requirement; otherwise an operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>)> {
        let mut operator = None;
        let mut token = self.consume(Context::Values);
        if token.tok == Tok::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            token = self.consume(Context::Values);
        }
        if token.tok != Tok::Identifier {
            return Err(self.syntax(token, "identifier"));
        }
        validate_key(token.literal)?;
        let next = self.lookahead(Context::Values);
        if matches!(next.tok, Tok::EndOfString | Tok::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((token.literal.to_string(), operator))
    }

    fn parse_operator(&mut self) -> Result<Operator> {
        let token = self.consume(Context::KeyAndOperator);
        Ok(match token.tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => return Err(self.syntax(token, "one of in, notin, =, ==, !=, >, <")),
        })
    }

    /// Reads `(v1,v2,...)`; empty slots are the empty value.
    fn parse_values(&mut self) -> Result<BTreeSet<String>> {
        let open = self.consume(Context::Values);
        if open.tok != Tok::OpenPar {
            return Err(self.syntax(open, "'('"));
        }
        let next = self.lookahead(Context::Values);
        match next.tok {
            Tok::Identifier | Tok::Comma => {
                let values = self.parse_identifiers_list()?;
                let close = self.consume(Context::Values);
                if close.tok != Tok::ClosedPar {
                    return Err(self.syntax(close, "')'"));
                }
                Ok(values)
            }
            Tok::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(self.syntax(next, "',', ')' or identifier")),
        }
    }

    /// Reads a comma-separated list of possibly empty values, up to (not including) the `)`.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>> {
        let mut values = BTreeSet::new();
        loop {
            let token = self.consume(Context::Values);
            match token.tok {
                Tok::Identifier => {
                    values.insert(token.literal.to_string());
                    let next = self.lookahead(Context::Values);
                    match next.tok {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(values),
                        _ => return Err(self.syntax(next, "',' or ')'")),
                    }
                }
                Tok::Comma => {
                    // A comma with nothing before it, after another comma, or before the `)`
                    // stands for the empty value.
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let next = self.lookahead(Context::Values);
                    if next.tok == Tok::ClosedPar {
                        values.insert(String::new());
                        return Ok(values);
                    }
                    if next.tok == Tok::Comma {
                        self.consume(Context::Values);
                        values.insert(String::new());
                    }
                }
                _ => return Err(self.syntax(token, "',' or identifier")),
            }
        }
    }

    /// Reads the single value after `=`, `==`, `!=`, `>` or `<`; nothing there means the empty value.
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>> {
        let next = self.lookahead(Context::Values);
        if matches!(next.tok, Tok::EndOfString | Tok::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let token = self.consume(Context::Values);
        if token.tok == Tok::Identifier {
            Ok(BTreeSet::from([token.literal.to_string()]))
        } else {
            Err(self.syntax(token, "identifier"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use proptest::prelude::*;

    struct Case<I, W> {
        name: &'static str,
        input: I,
        want: W,
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Parsing: valid strings and their canonical form.

    #[test]
    fn parse_accepts_valid_selectors_and_displays_them_canonically() {
        let long_name = "a".repeat(63);
        let long_prefix = format!("{}/x", "p".repeat(253));
        let long_value = format!("k={}", "v".repeat(63));
        let cases: Vec<Case<&str, String>> = vec![
            Case {
                name: "the empty string is everything",
                input: "",
                want: "".into(),
            },
            Case {
                name: "only whitespace is everything",
                input: " \t\r\n ",
                want: "".into(),
            },
            Case {
                name: "three equalities",
                input: "x=a,y=b,z=c",
                want: "x=a,y=b,z=c".into(),
            },
            Case {
                name: "not-equals and equals",
                input: "x!=a,y=b",
                want: "x!=a,y=b".into(),
            },
            Case {
                name: "a missing exact value is the empty value",
                input: "x=",
                want: "x=".into(),
            },
            Case {
                name: "trailing space after = is ignored",
                input: "x= ",
                want: "x=".into(),
            },
            Case {
                name: "two empty values",
                input: "x=,z= ",
                want: "x=,z=".into(),
            },
            Case {
                name: "spaces around empty values",
                input: "x= ,z= ",
                want: "x=,z=".into(),
            },
            Case {
                name: "double equals with no value",
                input: "x==",
                want: "x==".into(),
            },
            Case {
                name: "bang is does-not-exist",
                input: "!x",
                want: "!x".into(),
            },
            Case {
                name: "greater than an integer",
                input: "x>1",
                want: "x>1".into(),
            },
            Case {
                name: "greater and less than",
                input: "x>1,z<5",
                want: "x>1,z<5".into(),
            },
            Case {
                name: "an integer with a leading zero",
                input: "k>01",
                want: "k>01".into(),
            },
            Case {
                name: "double equals keeps its spelling",
                input: "a==b",
                want: "a==b".into(),
            },
            Case {
                name: "carriage return is whitespace",
                input: "\rx",
                want: "x".into(),
            },
            Case {
                name: "a dns prefix with a dashed name",
                input: "this-is-a-dns.domain.com/key-with-dash",
                want: "this-is-a-dns.domain.com/key-with-dash".into(),
            },
            Case {
                name: "a prefixed key with a set",
                input: "this-is-another-dns.domain.com/key-with-dash in (so,what)",
                want: "this-is-another-dns.domain.com/key-with-dash in (so,what)".into(),
            },
            Case {
                name: "numeric prefix labels and dotted values",
                input: "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                want: "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)".into(),
            },
            Case {
                name: "tabs and spaces around in",
                input: "foo  in\t (abc)",
                want: "foo in (abc)".into(),
            },
            Case {
                name: "newline before a set",
                input: "x notin\n (abc)",
                want: "x notin (abc)".into(),
            },
            Case {
                name: "several tabs before a set",
                input: "x  notin\t\t\t(abc,def)",
                want: "x notin (abc,def)".into(),
            },
            Case {
                name: "in with no space before the paren",
                input: "x in(a)",
                want: "x in (a)".into(),
            },
            Case {
                name: "spaces around an operator",
                input: "x = a",
                want: "x=a".into(),
            },
            Case {
                name: "a trailing comma in a set is the empty value",
                input: "x in (abc,)",
                want: "x in (,abc)".into(),
            },
            Case {
                name: "an empty set is the empty value",
                input: "x in ()",
                want: "x in ()".into(),
            },
            Case {
                name: "a space-only set is the empty value",
                input: "x notin ( )",
                want: "x notin ()".into(),
            },
            Case {
                name: "a lone comma in a set is the empty value",
                input: "x in (,)",
                want: "x in ()".into(),
            },
            Case {
                name: "a leading comma in a set",
                input: "x notin (, a)",
                want: "x notin (,a)".into(),
            },
            Case {
                name: "runs of commas collapse to one empty value",
                input: "x in (a,,,b)",
                want: "x in (,a,b)".into(),
            },
            Case {
                name: "mixed requirements are sorted by key",
                input: "x notin (abc,,def),bar,z in (),w",
                want: "bar,w,x notin (,abc,def),z in ()".into(),
            },
            Case {
                name: "exists before a set",
                input: "x,y in (a)",
                want: "x,y in (a)".into(),
            },
            Case {
                name: "equality, inequality and a set",
                input: "x=a,y!=b,z in (h,i,j)",
                want: "x=a,y!=b,z in (h,i,j)".into(),
            },
            Case {
                name: "a key with trailing space is exists",
                input: "a ",
                want: "a".into(),
            },
            Case {
                name: "in and notin are plain values inside a set",
                input: "a in (x,y,notin, z,in)",
                want: "a in (in,notin,x,y,z)".into(),
            },
            Case {
                name: "notin and in as key and value",
                input: "notin=in",
                want: "notin=in".into(),
            },
            Case {
                name: "in as key operator and value",
                input: "in in (in)",
                want: "in in (in)".into(),
            },
            Case {
                name: "sorting makes parsing deterministic",
                input: "x=a,a=x",
                want: "a=x,x=a".into(),
            },
            Case {
                name: "the scale subresource example",
                input: "app=web,tier in (a,b),!legacy,env!=prod,x,y notin (z)",
                want: "app=web,env!=prod,!legacy,tier in (a,b),x,y notin (z)".into(),
            },
            Case {
                name: "same-key requirements keep their order",
                input: "z,!z",
                want: "z,!z".into(),
            },
            Case {
                name: "same-key requirements keep the other order",
                input: "!z,z",
                want: "!z,z".into(),
            },
            Case {
                name: "duplicate set values are merged",
                input: "x in (b,a,b)",
                want: "x in (a,b)".into(),
            },
            Case {
                name: "space after a comma between requirements",
                input: "!x, y",
                want: "!x,y".into(),
            },
            Case {
                name: "uppercase, dots, dashes and underscores in keys and values",
                input: "example.com/a-B_c.D=V.1-x_y",
                want: "example.com/a-B_c.D=V.1-x_y".into(),
            },
            Case {
                name: "a 63-character name part",
                input: &long_name,
                want: long_name.clone(),
            },
            Case {
                name: "a 253-character prefix",
                input: &long_prefix,
                want: long_prefix.clone(),
            },
            Case {
                name: "a 63-character value",
                input: &long_value,
                want: long_value.clone(),
            },
            Case {
                name: "a NUL byte where a token would start ends the input like upstream",
                input: "x=a \0garbage",
                want: "x=a".into(),
            },
            Case {
                name: "a NUL byte right after a token separates like upstream",
                input: "a,\0b",
                want: "a,b".into(),
            },
        ];
        for case in cases {
            match Selector::parse(case.input) {
                Ok(sel) => assert_eq!(sel.to_string(), case.want, "{}", case.name),
                Err(err) => panic!("{}: unexpected error {err}", case.name),
            }
        }
    }

    #[test]
    fn parse_builds_the_requirements_upstream_builds() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases = [
            Case {
                name: "exists is inferred from a bare key",
                input: "x",
                want: vec![("x", Operator::Exists, s(&[]))],
            },
            Case {
                name: "a bang makes does-not-exist",
                input: "!x",
                want: vec![("x", Operator::DoesNotExist, s(&[]))],
            },
            Case {
                name: "set values are sorted and the empty value sorts first",
                input: "x notin (abc,,def)",
                want: vec![("x", Operator::NotIn, s(&["", "abc", "def"]))],
            },
            Case {
                name: "an empty set holds the empty value",
                input: "z in ()",
                want: vec![("z", Operator::In, s(&[""]))],
            },
            Case {
                name: "each exact operator keeps its identity",
                input: "a=1,b==2,c!=3,d>4,e<5",
                want: vec![
                    ("a", Operator::Equals, s(&["1"])),
                    ("b", Operator::DoubleEquals, s(&["2"])),
                    ("c", Operator::NotEquals, s(&["3"])),
                    ("d", Operator::GreaterThan, s(&["4"])),
                    ("e", Operator::LessThan, s(&["5"])),
                ],
            },
        ];
        for case in cases {
            let sel = Selector::parse(case.input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let got: Vec<(&str, Operator, Vec<String>)> = sel
                .requirements()
                .iter()
                .map(|r| (r.key(), r.operator(), r.values().to_vec()))
                .collect();
            assert_eq!(got, case.want, "{}", case.name);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Parsing: invalid strings.

    #[test]
    fn parse_rejects_invalid_selectors() {
        let long_name = "a".repeat(64);
        let long_prefix = format!("{}/x", "p".repeat(254));
        let long_value = format!("k={}", "v".repeat(64));
        let cases: Vec<Case<&str, ()>> = vec![
            Case {
                name: "double pipes are not an or",
                input: "x=a||y=b",
                want: (),
            },
            Case {
                name: "chained equalities",
                input: "x==a==b",
                want: (),
            },
            Case {
                name: "does-not-exist takes no value",
                input: "!x=a",
                want: (),
            },
            Case {
                name: "less than a non-integer",
                input: "x<a",
                want: (),
            },
            Case {
                name: "greater than nothing",
                input: "x>",
                want: (),
            },
            Case {
                name: "greater than a decimal",
                input: "x>1.5",
                want: (),
            },
            Case {
                name: "greater than an int64 overflow",
                input: "x>99999999999999999999",
                want: (),
            },
            Case {
                name: "greater than a negative number is not a label value",
                input: "x>-1",
                want: (),
            },
            Case {
                name: "an empty requirement between commas",
                input: "x,,y",
                want: (),
            },
            Case {
                name: "a leading comma",
                input: ",x,y",
                want: (),
            },
            Case {
                name: "a trailing comma",
                input: "a in (xyz),",
                want: (),
            },
            Case {
                name: "a misspelled operator",
                input: "x nott in (y)",
                want: (),
            },
            Case {
                name: "no comma after a set",
                input: "a in (xyz)b notin ()",
                want: (),
            },
            Case {
                name: "no comma inside a set",
                input: "a in (xyz abc)",
                want: (),
            },
            Case {
                name: "an unclosed set",
                input: "a notin(",
                want: (),
            },
            Case {
                name: "an unclosed set with a value",
                input: "x in (a",
                want: (),
            },
            Case {
                name: "in without a set",
                input: "x in",
                want: (),
            },
            Case {
                name: "in with a bare value",
                input: "x in a",
                want: (),
            },
            Case {
                name: "a paren after a key",
                input: "a (",
                want: (),
            },
            Case {
                name: "a lone paren",
                input: "(",
                want: (),
            },
            Case {
                name: "a lone bang",
                input: "!",
                want: (),
            },
            Case {
                name: "a bang after a key",
                input: "x!",
                want: (),
            },
            Case {
                name: "a set after equals",
                input: "x=(a)",
                want: (),
            },
            Case {
                name: "two sets",
                input: "x in (a)(b)",
                want: (),
            },
            Case {
                name: "two values after equals",
                input: "x=a b",
                want: (),
            },
            Case {
                name: "a value starting with a dash",
                input: "x=-a",
                want: (),
            },
            Case {
                name: "a non-ascii value",
                input: "x=é",
                want: (),
            },
            Case {
                name: "a key starting with a dash",
                input: "-x",
                want: (),
            },
            Case {
                name: "a key ending with an underscore",
                input: "a_",
                want: (),
            },
            Case {
                name: "a key with two slashes",
                input: "a/b/c",
                want: (),
            },
            Case {
                name: "a key with an empty prefix",
                input: "/a",
                want: (),
            },
            Case {
                name: "a key with an empty name",
                input: "a/",
                want: (),
            },
            Case {
                name: "a key with an uppercase prefix",
                input: "Example.com/a",
                want: (),
            },
            Case {
                name: "a 64-character name part",
                input: &long_name,
                want: (),
            },
            Case {
                name: "a 254-character prefix",
                input: &long_prefix,
                want: (),
            },
            Case {
                name: "a 64-character value",
                input: &long_value,
                want: (),
            },
            Case {
                name: "a NUL byte splitting a requirement",
                input: "x=a\0b",
                want: (),
            },
        ];
        for case in cases {
            let got = Selector::parse(case.input);
            assert!(
                got.is_err(),
                "{}: parsed {:?} as {:?}",
                case.name,
                case.input,
                got
            );
        }
    }

    #[test]
    fn parse_errors_name_the_offending_input() {
        let cases = [
            Case {
                name: "an invalid key is named",
                input: "app=web,-bad=x",
                want: Error::InvalidKey {
                    key: "-bad".into(),
                    reason: String::new(),
                },
            },
            Case {
                name: "an invalid value is named with its key",
                input: "tier in (ok,bad_)",
                want: Error::InvalidValue {
                    key: String::new(),
                    value: String::new(),
                    reason: String::new(),
                },
            },
            Case {
                name: "a non-integer bound is named",
                input: "k>three",
                want: Error::NotAnInteger {
                    key: "k".into(),
                    operator: Operator::GreaterThan,
                    value: "three".into(),
                },
            },
            Case {
                name: "a syntax error gives the byte offset and the token",
                input: "a=b c",
                want: Error::Syntax {
                    input: "a=b c".into(),
                    position: 4,
                    found: "\"c\"".into(),
                    expected: "',' or end of string",
                },
            },
            Case {
                name: "running out of input says end of string",
                input: "x in (a",
                want: Error::Syntax {
                    input: "x in (a".into(),
                    position: 7,
                    found: "end of string".into(),
                    expected: "',' or ')'",
                },
            },
            Case {
                name: "a trailing comma points after the comma",
                input: "a,",
                want: Error::Syntax {
                    input: "a,".into(),
                    position: 2,
                    found: "end of string".into(),
                    expected: "identifier after ','",
                },
            },
        ];
        for case in cases {
            let err = Selector::parse(case.input).expect_err(case.name);
            match (&err, &case.want) {
                (Error::InvalidKey { key, .. }, Error::InvalidKey { key: want, .. }) => {
                    assert_eq!(key, want, "{}", case.name)
                }
                (Error::InvalidValue { key, value, .. }, Error::InvalidValue { .. }) => {
                    assert_eq!((key.as_str(), value.as_str()), ("tier", "bad_"), "{}", case.name);
                }
                _ => assert_eq!(err, case.want, "{}", case.name),
            }
            let message = err.to_string();
            assert_eq!(
                message.chars().next().map(|c| c.is_lowercase() || c == '"'),
                Some(true),
                "{message}"
            );
        }
    }

    #[test]
    fn key_validation_reasons_follow_upstream() {
        let reason = |k: &str| match validate_key(k) {
            Err(Error::InvalidKey { reason, .. }) => reason,
            other => panic!("{k}: {other:?}"),
        };
        // Upstream's IsQualifiedName messages, joined with "; " as upstream's validateLabelKey does.
        let empty = reason("");
        assert!(
            empty.starts_with(
                "name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', \
                 and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
            ),
            "{empty}"
        );
        assert!(
            empty.ends_with("regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
            "{empty}"
        );
        assert!(reason("/a").starts_with("prefix part must be non-empty"));
        assert!(reason(&"a".repeat(64)).starts_with("name part must be no more than 63 characters"));
        assert!(reason("a/b/c").starts_with("a qualified name must consist"));
        assert!(
            reason(&format!("{}/a", "p".repeat(254))).starts_with("prefix part must be no more than 253")
        );
        assert!(validate_key("k8s.io/app").is_ok());
    }

    // -----------------------------------------------------------------------------------------
    // The lexer.

    #[test]
    fn lexer_returns_the_longest_token() {
        let cases = [
            Case {
                name: "end of string",
                input: "",
                want: (Tok::EndOfString, ""),
            },
            Case {
                name: "comma",
                input: ",",
                want: (Tok::Comma, ","),
            },
            Case {
                name: "notin keyword",
                input: "notin",
                want: (Tok::NotIn, "notin"),
            },
            Case {
                name: "in keyword",
                input: "in",
                want: (Tok::In, "in"),
            },
            Case {
                name: "equals",
                input: "=",
                want: (Tok::Equals, "="),
            },
            Case {
                name: "double equals",
                input: "==",
                want: (Tok::DoubleEquals, "=="),
            },
            Case {
                name: "greater than",
                input: ">",
                want: (Tok::GreaterThan, ">"),
            },
            Case {
                name: "less than",
                input: "<",
                want: (Tok::LessThan, "<"),
            },
            Case {
                name: "bang",
                input: "!",
                want: (Tok::DoesNotExist, "!"),
            },
            Case {
                name: "bang equals",
                input: "!=",
                want: (Tok::NotEquals, "!="),
            },
            Case {
                name: "open paren",
                input: "(",
                want: (Tok::OpenPar, "("),
            },
            Case {
                name: "close paren",
                input: ")",
                want: (Tok::ClosedPar, ")"),
            },
            Case {
                name: "tilde is an identifier",
                input: "~",
                want: (Tok::Identifier, "~"),
            },
            Case {
                name: "pipes are an identifier",
                input: "||",
                want: (Tok::Identifier, "||"),
            },
            Case {
                name: "a triple equals starts with a double",
                input: "===",
                want: (Tok::DoubleEquals, "=="),
            },
        ];
        for case in cases {
            let first = lex(case.input)[0];
            assert_eq!((first.tok, first.literal), case.want, "{}", case.name);
        }
    }

    #[test]
    fn lexer_splits_sequences_like_upstream() {
        use Tok::*;
        let cases = [
            Case {
                name: "in with one value",
                input: "key in ( value )",
                want: vec![Identifier, In, OpenPar, Identifier, ClosedPar],
            },
            Case {
                name: "notin with one value",
                input: "key notin ( value )",
                want: vec![Identifier, NotIn, OpenPar, Identifier, ClosedPar],
            },
            Case {
                name: "in with two values",
                input: "key in ( value1, value2 )",
                want: vec![Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar],
            },
            Case {
                name: "a bare key",
                input: "key",
                want: vec![Identifier],
            },
            Case {
                name: "a negated key",
                input: "!key",
                want: vec![DoesNotExist, Identifier],
            },
            Case {
                name: "empty parens",
                input: "()",
                want: vec![OpenPar, ClosedPar],
            },
            Case {
                name: "an empty set then a key",
                input: "x in (),y",
                want: vec![Identifier, In, OpenPar, ClosedPar, Comma, Identifier],
            },
            Case {
                name: "operators only",
                input: "== != (), = notin",
                want: vec![DoubleEquals, NotEquals, OpenPar, ClosedPar, Comma, Equals, NotIn],
            },
            Case {
                name: "greater than",
                input: "key>2",
                want: vec![Identifier, GreaterThan, Identifier],
            },
            Case {
                name: "less than",
                input: "key<1",
                want: vec![Identifier, LessThan, Identifier],
            },
        ];
        for case in cases {
            let tokens = lex(case.input);
            let (last, rest) = tokens.split_last().expect("at least end of string");
            assert_eq!(last.tok, EndOfString, "{}", case.name);
            let got: Vec<Tok> = rest.iter().map(|t| t.tok).collect();
            assert_eq!(got, case.want, "{}", case.name);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Matching.

    #[test]
    fn matches_follows_upstream() {
        let foo_baz: &[(&str, &str)] = &[("foo", "bar"), ("baz", "blah")];
        type Labels<'a> = &'a [(&'a str, &'a str)];
        let cases: Vec<Case<(&str, Labels), bool>> = vec![
            Case {
                name: "empty selector matches anything",
                input: ("", &[("x", "y")]),
                want: true,
            },
            Case {
                name: "equality matches the same value",
                input: ("x=y", &[("x", "y")]),
                want: true,
            },
            Case {
                name: "two equalities match",
                input: ("x=y,z=w", &[("x", "y"), ("z", "w")]),
                want: true,
            },
            Case {
                name: "two inequalities match other values",
                input: ("x!=y,z!=w", &[("x", "z"), ("z", "a")]),
                want: true,
            },
            Case {
                name: "in and notin as key and value",
                input: ("notin=in", &[("notin", "in")]),
                want: true,
            },
            Case {
                name: "exists matches a present key",
                input: ("x", &[("x", "z")]),
                want: true,
            },
            Case {
                name: "does-not-exist matches an absent key",
                input: ("!x", &[("y", "z")]),
                want: true,
            },
            Case {
                name: "greater than a smaller number",
                input: ("x>1", &[("x", "2")]),
                want: true,
            },
            Case {
                name: "less than a larger number",
                input: ("x<1", &[("x", "0")]),
                want: true,
            },
            Case {
                name: "equality needs the key",
                input: ("x=z", &[]),
                want: false,
            },
            Case {
                name: "equality needs the value",
                input: ("x=y", &[("x", "z")]),
                want: false,
            },
            Case {
                name: "one failing equality fails",
                input: ("x=y,z=w", &[("x", "w"), ("z", "w")]),
                want: false,
            },
            Case {
                name: "one failing inequality fails",
                input: ("x!=y,z!=w", &[("x", "z"), ("z", "w")]),
                want: false,
            },
            Case {
                name: "exists fails on an absent key",
                input: ("x", &[("y", "z")]),
                want: false,
            },
            Case {
                name: "does-not-exist fails on a present key",
                input: ("!x", &[("x", "z")]),
                want: false,
            },
            Case {
                name: "greater than fails on a smaller number",
                input: ("x>1", &[("x", "0")]),
                want: false,
            },
            Case {
                name: "less than fails on a larger number",
                input: ("x<1", &[("x", "2")]),
                want: false,
            },
            Case {
                name: "greater than is strict",
                input: ("x>1", &[("x", "1")]),
                want: false,
            },
            Case {
                name: "one label of two",
                input: ("foo=bar", foo_baz),
                want: true,
            },
            Case {
                name: "the other label of two",
                input: ("baz=blah", foo_baz),
                want: true,
            },
            Case {
                name: "both labels",
                input: ("foo=bar,baz=blah", foo_baz),
                want: true,
            },
            Case {
                name: "a wrong value",
                input: ("foo=blah", foo_baz),
                want: false,
            },
            Case {
                name: "a value of another key",
                input: ("baz=bar", foo_baz),
                want: false,
            },
            Case {
                name: "an extra required label",
                input: ("foo=bar,foobar=bar,baz=blah", foo_baz),
                want: false,
            },
            Case {
                name: "in and notin together",
                input: ("x in (foo),y notin (alpha)", &[("x", "foo"), ("y", "baz")]),
                want: true,
            },
            Case {
                name: "in fails on another value",
                input: ("x in (foo),y in (alpha)", &[("x", "foo"), ("y", "baz")]),
                want: false,
            },
            Case {
                name: "notin the empty value matches an absent key",
                input: ("x notin (),y", &[("y", "")]),
                want: true,
            },
            Case {
                name: "does-not-exist and exists",
                input: ("!x,y", &[("y", "")]),
                want: true,
            },
            Case {
                name: "exists holds for an empty value",
                input: ("x notin (),!y", &[("y", "")]),
                want: false,
            },
            Case {
                name: "in the empty value needs the key",
                input: ("x in ()", &[("y", "baz")]),
                want: false,
            },
            Case {
                name: "in the empty value matches an empty label",
                input: ("x in ()", &[("x", "")]),
                want: true,
            },
            Case {
                name: "greater than a number",
                input: ("z>1", &[("z", "2")]),
                want: true,
            },
            Case {
                name: "greater than fails on a non-number",
                input: ("z>1", &[("z", "v2")]),
                want: false,
            },
            Case {
                name: "greater than fails on an absent key",
                input: ("x>1", &[]),
                want: false,
            },
            Case {
                name: "less than accepts a negative label",
                input: ("x<5", &[("x", "-3")]),
                want: true,
            },
            Case {
                name: "greater than accepts a plus sign like ParseInt",
                input: ("x>1", &[("x", "+5")]),
                want: true,
            },
            Case {
                name: "not-equals matches an absent key",
                input: ("x!=a", &[]),
                want: true,
            },
            Case {
                name: "notin matches an absent key",
                input: ("x notin (a)", &[]),
                want: true,
            },
            Case {
                name: "in matches any listed value",
                input: ("x in (a,b)", &[("x", "b")]),
                want: true,
            },
            Case {
                name: "equals empty matches an empty label",
                input: ("x=", &[("x", "")]),
                want: true,
            },
            Case {
                name: "equals empty needs the key",
                input: ("x=", &[]),
                want: false,
            },
            Case {
                name: "double equals matches like equals",
                input: ("x==y", &[("x", "y")]),
                want: true,
            },
        ];
        for case in cases {
            let (selector, set) = case.input;
            let sel = Selector::parse(selector).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(sel.matches(&labels(set)), case.want, "{}", case.name);
        }
    }

    #[test]
    fn everything_matches_all_and_is_empty() {
        let sel = Selector::everything();
        assert!(sel.matches(&labels(&[("x", "y")])));
        assert!(sel.matches(&labels(&[])));
        assert!(sel.is_empty());
        assert!(!sel.is_nothing());
        assert_eq!(sel, Selector::default());
        assert_eq!(sel, Selector::parse("").expect("empty parses"));
        assert_eq!(sel.to_string(), "");
    }

    #[test]
    fn nothing_matches_nothing_and_is_not_empty() {
        let sel = Selector::nothing();
        assert!(!sel.matches(&labels(&[])));
        assert!(!sel.matches(&labels(&[("x", "y")])));
        assert!(!sel.is_empty());
        assert!(sel.is_nothing());
        assert!(sel.requirements().is_empty());
        assert_ne!(sel, Selector::everything());
        assert_eq!(sel.to_string(), "");
    }

    // -----------------------------------------------------------------------------------------
    // Requirement construction (TestRequirementConstructor).

    #[test]
    fn requirement_new_validates_like_new_requirement() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let long = "a".repeat(254);
        type Input<'a> = (&'a str, Operator, Vec<String>);
        let cases: Vec<Case<Input, bool>> = vec![
            Case {
                name: "in needs values",
                input: ("x1", Operator::In, v(&[])),
                want: false,
            },
            Case {
                name: "notin needs values",
                input: ("x2", Operator::NotIn, v(&[])),
                want: false,
            },
            Case {
                name: "in with one value",
                input: ("x3", Operator::In, v(&["foo"])),
                want: true,
            },
            Case {
                name: "notin with one value",
                input: ("x4", Operator::NotIn, v(&["foo"])),
                want: true,
            },
            Case {
                name: "equals takes one value only",
                input: ("x5", Operator::Equals, v(&["foo", "bar"])),
                want: false,
            },
            Case {
                name: "exists with no values",
                input: ("x6", Operator::Exists, v(&[])),
                want: true,
            },
            Case {
                name: "does-not-exist with no values",
                input: ("x7", Operator::DoesNotExist, v(&[])),
                want: true,
            },
            Case {
                name: "exists takes no values",
                input: ("x8", Operator::Exists, v(&["foo"])),
                want: false,
            },
            Case {
                name: "greater than one",
                input: ("x11", Operator::GreaterThan, v(&["1"])),
                want: true,
            },
            Case {
                name: "less than six",
                input: ("x12", Operator::LessThan, v(&["6"])),
                want: true,
            },
            Case {
                name: "greater than needs a value",
                input: ("x13", Operator::GreaterThan, v(&[])),
                want: false,
            },
            Case {
                name: "greater than needs an integer",
                input: ("x14", Operator::GreaterThan, v(&["bar"])),
                want: false,
            },
            Case {
                name: "less than needs an integer",
                input: ("x15", Operator::LessThan, v(&["bar"])),
                want: false,
            },
            Case {
                name: "greater than takes exactly one value",
                input: ("x", Operator::GreaterThan, v(&["1", "1"])),
                want: false,
            },
            Case {
                name: "a 254-character key",
                input: (long.as_str(), Operator::Exists, v(&[])),
                want: false,
            },
            Case {
                name: "a 254-character value",
                input: ("x16", Operator::Equals, vec![long.clone()]),
                want: false,
            },
            Case {
                name: "a value with a space",
                input: ("x17", Operator::Equals, v(&["a b"])),
                want: false,
            },
            Case {
                name: "not-equals with the empty value",
                input: ("x", Operator::NotEquals, v(&[""])),
                want: true,
            },
        ];
        for case in cases {
            let (key, op, values) = case.input;
            let got = Requirement::new(key, op, values);
            assert_eq!(got.is_ok(), case.want, "{}: {got:?}", case.name);
        }
    }

    #[test]
    fn requirement_values_are_sorted_and_deduplicated() {
        let r = Requirement::new("x", Operator::In, vec!["b".into(), "a".into(), "b".into()]).expect("valid");
        assert_eq!(r.values(), ["a", "b"]);
        assert_eq!(r.to_string(), "x in (a,b)");
    }

    #[test]
    fn requirement_display_matches_upstream_to_string() {
        let req = |k: &str, op, vals: &[&str]| {
            Requirement::new(k, op, vals.iter().map(|s| s.to_string()).collect()).expect("valid")
        };
        let cases = [
            Case {
                name: "sets and exists",
                input: vec![
                    req("x", Operator::In, &["abc", "def"]),
                    req("y", Operator::NotIn, &["jkl"]),
                    req("z", Operator::Exists, &[]),
                ],
                want: "x in (abc,def),y notin (jkl),z",
            },
            Case {
                name: "notin, not-equals and does-not-exist",
                input: vec![
                    req("x", Operator::NotIn, &["abc", "def"]),
                    req("y", Operator::NotEquals, &["jkl"]),
                    req("z", Operator::DoesNotExist, &[]),
                ],
                want: "x notin (abc,def),y!=jkl,!z",
            },
            Case {
                name: "an empty value in a set",
                input: vec![
                    req("x", Operator::NotIn, &["abc"]),
                    req("y", Operator::In, &["jkl", "mno"]),
                    req("z", Operator::NotIn, &[""]),
                ],
                want: "x notin (abc),y in (jkl,mno),z notin ()",
            },
            Case {
                name: "every exact operator",
                input: vec![
                    req("x", Operator::Equals, &["abc"]),
                    req("y", Operator::DoubleEquals, &["jkl"]),
                    req("z", Operator::NotEquals, &["a"]),
                    req("z", Operator::Exists, &[]),
                ],
                want: "x=abc,y==jkl,z!=a,z",
            },
            Case {
                name: "integer comparisons",
                input: vec![
                    req("x", Operator::GreaterThan, &["2"]),
                    req("y", Operator::LessThan, &["8"]),
                    req("z", Operator::Exists, &[]),
                ],
                want: "x>2,y<8,z",
            },
        ];
        for case in cases {
            let sel = Selector::from_requirements(case.input);
            assert_eq!(sel.to_string(), case.want, "{}", case.name);
            assert_eq!(
                Selector::parse(case.want).as_ref(),
                Ok(&sel),
                "{} round trip",
                case.name
            );
        }
    }

    #[test]
    fn from_requirements_sorts_by_key_like_add() {
        let a = Requirement::new("key", Operator::In, vec!["value".into()]).expect("valid");
        let b = Requirement::new("key2", Operator::Equals, vec!["value2".into()]).expect("valid");
        let sel = Selector::from_requirements([b.clone(), a.clone()]);
        assert_eq!(sel.requirements(), [a, b]);
    }

    // -----------------------------------------------------------------------------------------
    // LabelSelectorAsSelector.

    fn expr(key: &str, op: &str, values: Option<&[&str]>) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.map(|vs| vs.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn from_label_selector_follows_label_selector_as_selector() {
        let ls = |labels_: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: (!labels_.is_empty()).then(|| labels(labels_)),
            match_expressions: (!exprs.is_empty()).then_some(exprs),
        };
        let qux_norf = || expr("baz", "In", Some(&["qux", "norf"]));
        // want: Some(canonical string) for success, None for an error.
        let cases: Vec<Case<LabelSelector, Option<&str>>> = vec![
            Case {
                name: "an empty selector is everything",
                input: LabelSelector::default(),
                want: Some(""),
            },
            Case {
                name: "empty but present lists are everything",
                input: LabelSelector {
                    match_labels: Some(BTreeMap::new()),
                    match_expressions: Some(vec![]),
                },
                want: Some(""),
            },
            Case {
                name: "match labels become equalities",
                input: ls(&[("foo", "bar")], vec![]),
                want: Some("foo=bar"),
            },
            Case {
                name: "an in expression sorts its values",
                input: ls(&[], vec![qux_norf()]),
                want: Some("baz in (norf,qux)"),
            },
            Case {
                name: "labels and expressions sort together by key",
                input: ls(&[("foo", "bar")], vec![qux_norf()]),
                want: Some("baz in (norf,qux),foo=bar"),
            },
            Case {
                name: "exists with values is an error",
                input: ls(&[], vec![expr("baz", "Exists", Some(&["qux", "norf"]))]),
                want: None,
            },
            Case {
                name: "does-not-exist with values is an error",
                input: ls(&[], vec![expr("baz", "DoesNotExist", Some(&["a"]))]),
                want: None,
            },
            Case {
                name: "in without values is an error",
                input: ls(&[], vec![expr("baz", "In", None)]),
                want: None,
            },
            Case {
                name: "notin with an empty list is an error",
                input: ls(&[], vec![expr("baz", "NotIn", Some(&[]))]),
                want: None,
            },
            Case {
                name: "notin with values",
                input: ls(&[], vec![expr("env", "NotIn", Some(&["prod"]))]),
                want: Some("env notin (prod)"),
            },
            Case {
                name: "exists without values",
                input: ls(&[], vec![expr("env", "Exists", None)]),
                want: Some("env"),
            },
            Case {
                name: "does-not-exist with an empty list",
                input: ls(&[], vec![expr("env", "DoesNotExist", Some(&[]))]),
                want: Some("!env"),
            },
            Case {
                name: "operators are case-sensitive",
                input: ls(&[], vec![expr("env", "in", Some(&["a"]))]),
                want: None,
            },
            Case {
                name: "gt is not a label selector operator",
                input: ls(&[], vec![expr("env", "Gt", Some(&["1"]))]),
                want: None,
            },
            Case {
                name: "an invalid match label key is an error",
                input: ls(&[("bad key", "x")], vec![]),
                want: None,
            },
            Case {
                name: "an invalid match label value is an error",
                input: ls(&[("k", "bad value")], vec![]),
                want: None,
            },
            Case {
                name: "an empty match label value is allowed",
                input: ls(&[("k", "")], vec![]),
                want: Some("k="),
            },
            Case {
                name: "a match label sorts before an expression on the same key",
                input: ls(&[("app", "web")], vec![expr("app", "Exists", None)]),
                want: Some("app=web,app"),
            },
            Case {
                name: "duplicate expression values are merged",
                input: ls(&[], vec![expr("t", "In", Some(&["b", "a", "b"]))]),
                want: Some("t in (a,b)"),
            },
        ];
        for case in cases {
            let got = Selector::from_label_selector(&case.input);
            match case.want {
                Some(want) => {
                    let sel = got.unwrap_or_else(|e| panic!("{}: {e}", case.name));
                    assert_eq!(sel.to_string(), want, "{}", case.name);
                    assert!(!sel.is_nothing(), "{}", case.name);
                }
                None => assert!(got.is_err(), "{}: {got:?}", case.name),
            }
        }
    }

    #[test]
    fn from_label_selector_names_an_unknown_operator() {
        let ls = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![expr("env", "Gt", Some(&["1"]))]),
        };
        let err = Selector::from_label_selector(&ls).expect_err("gt is not allowed");
        assert_eq!(
            err,
            Error::UnknownOperator {
                key: "env".into(),
                operator: "Gt".into()
            }
        );
        assert!(
            err.to_string()
                .starts_with("\"Gt\" is not a valid label selector operator for key \"env\"")
        );
    }

    #[test]
    fn a_missing_label_selector_selects_nothing() {
        let sel = Selector::from_optional_label_selector(None).expect("no error");
        assert_eq!(sel, Selector::nothing());
        let sel = Selector::from_optional_label_selector(Some(&LabelSelector::default())).expect("no error");
        assert_eq!(sel, Selector::everything());
    }

    #[test]
    fn from_label_selector_matches_what_the_string_form_matches() {
        let ls = LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![
                expr("tier", "In", Some(&["front", "back"])),
                expr("legacy", "DoesNotExist", None),
            ]),
        };
        let sel = Selector::from_label_selector(&ls).expect("valid");
        assert_eq!(
            sel,
            Selector::parse("app=web,tier in (back,front),!legacy").expect("valid")
        );
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "front")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "front"), ("legacy", "true")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "middle")])));
    }

    #[test]
    fn from_str_is_parse() {
        let sel: Selector = "a=b,c in (x,y),!d".parse().expect("valid");
        assert_eq!(sel.to_string(), "a=b,c in (x,y),!d");
        assert!("a=b c".parse::<Selector>().is_err());
    }

    // -----------------------------------------------------------------------------------------
    // Round trips.

    fn arb_key() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("in".to_string()),
            Just("notin".to_string()),
            "[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?",
        ];
        let prefix = prop_oneof![
            Just(None),
            "[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?){0,2}".prop_map(Some),
        ];
        (prefix, name).prop_map(|(p, n)| match p {
            Some(p) => format!("{p}/{n}"),
            None => n,
        })
    }

    fn arb_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("in".to_string()),
            Just("notin".to_string()),
            "[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?",
        ]
    }

    fn arb_requirement() -> impl Strategy<Value = Requirement> {
        let op = prop_oneof![
            Just(Operator::In),
            Just(Operator::NotIn),
            Just(Operator::Exists),
            Just(Operator::DoesNotExist),
            Just(Operator::Equals),
            Just(Operator::DoubleEquals),
            Just(Operator::NotEquals),
            Just(Operator::GreaterThan),
            Just(Operator::LessThan),
        ];
        (
            arb_key(),
            op,
            proptest::collection::vec(arb_value(), 1..4),
            0..i64::MAX,
        )
            .prop_map(|(key, op, values, n)| {
                let values = match op {
                    Operator::In | Operator::NotIn => values,
                    Operator::Exists | Operator::DoesNotExist => Vec::new(),
                    Operator::GreaterThan | Operator::LessThan => vec![n.to_string()],
                    _ => values.into_iter().take(1).collect(),
                };
                Requirement::new(key, op, values).expect("generated requirements are valid")
            })
    }

    proptest! {
        #[test]
        fn parse_of_display_gives_back_the_selector(
            reqs in proptest::collection::vec(arb_requirement(), 0..6)
        ) {
            let sel = Selector::from_requirements(reqs);
            let text = sel.to_string();
            let back = Selector::parse(&text);
            prop_assert_eq!(back.as_ref(), Ok(&sel), "via {:?}", text);
        }

        #[test]
        fn parse_never_panics_and_display_is_stable(input in "[a-z0-9=!(), <>.\\-_/\t]{0,30}") {
            if let Ok(sel) = Selector::parse(&input) {
                let text = sel.to_string();
                let again = Selector::parse(&text);
                prop_assert_eq!(again.as_ref(), Ok(&sel), "{:?} -> {:?}", input, text);
            }
        }
    }
}

//! Error messages as jsonata-js 2.0.6 words them. AWS quotes jsonata-js's message after
//! "threw an error during evaluation. " (`T0412: Argument 1 of function "sum" must be an
//! array of "numbers"`, quoted in floci-io/floci#2668); the engine words many of its errors
//! its own way (`T0412: Argument 1 must be an array of Number`). A message is rewritten from
//! its code: codes whose jsonata-js text is fixed get that text; codes whose text names a
//! function, an operator or a value get it when the engine's message or the expression tells
//! which (a function named once in the expression, say); otherwise the engine's text stays.
//!
//! The texts are jsonata-js 2.0.6's `errorCodes` (src/jsonata.js; MIT licence, Copyright
//! IBM Corp. 2016, 2018; the licence text is in tests/jsonata/LICENSE).

use std::borrow::Cow;

use super::facts::Facts;

/// jsonata-js's messages that insert nothing.
const FIXED: [(&str, &str); 54] = [
    (
        "S0101",
        "String literal must be terminated by a matching quote",
    ),
    (
        "S0104",
        "The escape sequence \\u must be followed by 4 hex digits",
    ),
    (
        "S0105",
        "Quoted property name must be terminated with a backquote (`)",
    ),
    ("S0106", "Comment has no closing tag"),
    ("S0207", "Unexpected end of expression"),
    (
        "S0209",
        "A predicate cannot follow a grouping expression in a step",
    ),
    ("S0210", "Each step can only have one grouping expression"),
    (
        "S0212",
        "The left side of := must be a variable name (start with $)",
    ),
    (
        "S0215",
        "A context variable binding must precede any predicates on a step",
    ),
    (
        "S0216",
        "A context variable binding must precede the 'order-by' clause on a step",
    ),
    (
        "S0217",
        "The object representing the 'parent' cannot be derived from this expression",
    ),
    ("S0301", "Empty regular expressions are not allowed"),
    ("S0302", "No terminating / in regular expression"),
    (
        "S0402",
        "Choice groups containing parameterized types are not supported",
    ),
    (
        "S0401",
        "Type parameters can only be applied to functions and arrays",
    ),
    (
        "S0500",
        "Attempted to evaluate an expression containing syntax error(s)",
    ),
    ("D1004", "Regular expression matches zero length string"),
    ("T1006", "Attempted to invoke a non-function"),
    ("T1008", "Attempted to partially apply a non-function"),
    (
        "D1010",
        "Attempted to access the Javascript object prototype",
    ),
    (
        "T2003",
        "The left side of the range operator (..) must evaluate to an integer",
    ),
    (
        "T2004",
        "The right side of the range operator (..) must evaluate to an integer",
    ),
    (
        "D2005",
        "The left side of := must be a variable name (start with $)",
    ),
    (
        "T2006",
        "The right side of the function application operator ~> must be a function",
    ),
    (
        "T2008",
        "The expressions within an order-by clause must evaluate to numeric or string values",
    ),
    (
        "T2013",
        "The transform expression clones the input object using the $clone() function.  This has been overridden in the current scope by a non-function.",
    ),
    (
        "D3001",
        "Attempting to invoke string function on Infinity or NaN",
    ),
    (
        "D3010",
        "Second argument of replace function cannot be an empty string",
    ),
    (
        "D3011",
        "Fourth argument of replace function must evaluate to a positive number",
    ),
    (
        "D3012",
        "Attempted to replace a matched string with a non-string value",
    ),
    (
        "D3020",
        "Third argument of split function must evaluate to a positive number",
    ),
    (
        "D3040",
        "Third argument of match function must evaluate to a positive number",
    ),
    (
        "D3050",
        "The second argument of reduce function must be a function with at least two arguments",
    ),
    (
        "D3070",
        "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function",
    ),
    (
        "D3080",
        "The picture string must only contain a maximum of two sub-pictures",
    ),
    (
        "D3081",
        "The sub-picture must not contain more than one instance of the 'decimal-separator' character",
    ),
    (
        "D3082",
        "The sub-picture must not contain more than one instance of the 'percent' character",
    ),
    (
        "D3083",
        "The sub-picture must not contain more than one instance of the 'per-mille' character",
    ),
    (
        "D3084",
        "The sub-picture must not contain both a 'percent' and a 'per-mille' character",
    ),
    (
        "D3085",
        "The mantissa part of a sub-picture must contain at least one character that is either an 'optional digit character' or a member of the 'decimal digit family'",
    ),
    (
        "D3086",
        "The sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character",
    ),
    (
        "D3087",
        "The sub-picture must not contain a 'grouping-separator' character that appears adjacent to a 'decimal-separator' character",
    ),
    (
        "D3088",
        "The sub-picture must not contain a 'grouping-separator' at the end of the integer part",
    ),
    (
        "D3089",
        "The sub-picture must not contain two adjacent instances of the 'grouping-separator' character",
    ),
    (
        "D3090",
        "The integer part of the sub-picture must not contain a member of the 'decimal digit family' that is followed by an instance of the 'optional digit character'",
    ),
    (
        "D3091",
        "The fractional part of the sub-picture must not contain an instance of the 'optional digit character' that is followed by a member of the 'decimal digit family'",
    ),
    (
        "D3092",
        "A sub-picture that contains a 'percent' or 'per-mille' character must not contain a character treated as an 'exponent-separator'",
    ),
    (
        "D3093",
        "The exponent part of the sub-picture must comprise only of one or more characters that are members of the 'decimal digit family'",
    ),
    (
        "D3131",
        "In a decimal digit pattern, all digits must be from the same decimal group",
    ),
    (
        "D3134",
        "The timezone integer format specifier cannot have more than four digits",
    ),
    (
        "D3135",
        "No matching closing bracket ']' in date/time picture string",
    ),
    (
        "D3136",
        "The date/time picture string is missing specifiers required to parse the timestamp",
    ),
    (
        "D3138",
        "The $single() function expected exactly 1 matching result.  Instead it matched more.",
    ),
    (
        "D3139",
        "The $single() function expected exactly 1 matching result.  Instead it matched 0.",
    ),
];

/// `message` (starting with its code) as jsonata-js 2.0.6 words it, as far as known.
pub(super) fn jsonata_js<'a>(message: &'a str, facts: &Facts) -> Cow<'a, str> {
    let Some((code, text)) = message.split_once(": ") else {
        return Cow::Borrowed(message);
    };
    if let Some((_, fixed)) = FIXED.iter().find(|(c, _)| *c == code) {
        return Cow::Owned(format!("{code}: {fixed}"));
    }
    match rewrite(code, text, facts) {
        Some(text) => Cow::Owned(format!("{code}: {text}")),
        None => Cow::Borrowed(message),
    }
}

fn rewrite(code: &str, text: &str, facts: &Facts) -> Option<String> {
    Some(match code {
        "T0410" => {
            let index = if let Some(rest) = text.strip_prefix("Argument count mismatch: expected ")
            {
                let (expected, got) = rest.split_once(", got ")?;
                let (expected, got): (usize, usize) = (expected.parse().ok()?, got.parse().ok()?);
                let name = function_called_with(facts, got)?;
                // jsonata-js names the first argument that does not fit: the first extra
                // one, or the first missing one.
                let index = if got > expected {
                    expected.max(1) + 1
                } else {
                    got + 1
                };
                return Some(format!(
                    "Argument {index} of function {} does not match function signature",
                    quoted(name)
                ));
            } else {
                argument_index(text)?
            };
            // A lambda with a signature: jsonata-js has no name to give (`undefined`).
            if text.starts_with(&format!("Argument {index} of function does not match")) {
                return Some(format!(
                    "Argument {index} of function undefined does not match function signature"
                ));
            }
            let name = function_with_argument(facts, index)?;
            format!(
                "Argument {index} of function {} does not match function signature",
                quoted(name)
            )
        }
        "T0411" => {
            let name = function_with_argument(facts, 1)?;
            format!(
                "Context value is not a compatible type with argument 1 of function {}",
                quoted(name)
            )
        }
        "T0412" => {
            let index = argument_index(text)?;
            let of = text.rsplit("an array of ").next()?;
            let kind = match of {
                "Number" => "numbers",
                "String" => "strings",
                "Boolean" => "booleans",
                "Object" => "objects",
                "Array" => "arrays",
                "Function" => "functions",
                _ => return None,
            };
            let name = if text.starts_with(&format!("Argument {index} of function must")) {
                "undefined".to_string()
            } else {
                quoted(function_with_argument(facts, index)?)
            };
            format!(
                "Argument {index} of function {name} must be an array of {}",
                quoted(kind)
            )
        }
        "T2001" | "T2002" => {
            let side = if code == "T2001" { "left" } else { "right" };
            let rest = text.strip_prefix(&format!("The {side} side of the "))?;
            let op = rest.strip_suffix(" operator must evaluate to a number")?;
            let op = op.trim_matches('"');
            format!(
                "The {side} side of the {} operator must evaluate to a number",
                quoted(op)
            )
        }
        "T2010" => {
            let [op] = facts.comparisons.as_slice() else {
                return None;
            };
            format!(
                "The expressions either side of operator {} must evaluate to numeric or string values",
                quoted(op)
            )
        }
        "D3030" => {
            let value = text
                .strip_prefix("Cannot convert '")?
                .strip_suffix("' to number")?;
            format!("Unable to cast value to a number: {}", quoted(value))
        }
        // JSON.stringify writes a non-finite number, the only one out of range, as null.
        "D1001" => "Number out of range: null".into(),
        "S0103" => {
            let token = text.strip_prefix("Unsupported escape sequence: \\")?;
            format!("Unsupported escape sequence: \\{}", quoted(token))
        }
        "S0214" => {
            let token = text.strip_prefix("Expected a variable reference after ")?;
            format!(
                "The right side of {} must be a variable name (start with $)",
                quoted(token)
            )
        }
        "S0102" => {
            let token = text.strip_prefix("Number out of range: ")?;
            format!("Number out of range: {}", quoted(token))
        }
        "T1010" => {
            let rest = text.strip_prefix("The matcher function argument passed to function $")?;
            let (name, tail) = rest.split_once(' ')?;
            format!(
                "The matcher function argument passed to function {} {tail}",
                quoted(name)
            )
        }
        "S0201" => {
            let token = symbol(text.strip_prefix("Syntax error: ")?)?;
            format!("Syntax error: {}", quoted(token))
        }
        "S0202" => {
            let rest = text.strip_prefix("Expected ")?;
            let (want, got) = rest.split_once(", got ")?;
            format!(
                "Expected {}, got {}",
                quoted(symbol(want)?),
                quoted(symbol(got)?)
            )
        }
        "S0203" => {
            let want = text
                .strip_prefix("Expected ")?
                .strip_suffix(" before end of expression")?;
            format!(
                "Expected {} before end of expression",
                quoted(symbol(want)?)
            )
        }
        "S0204" => {
            let token = text.strip_prefix("Unknown operator: ")?;
            format!("Unknown operator: {}", quoted(token.trim_matches('"')))
        }
        "S0211" => {
            let token = text
                .strip_prefix("The symbol ")?
                .strip_suffix(" cannot be used as a unary operator")?;
            format!(
                "The symbol {} cannot be used as a unary operator",
                quoted(symbol(token)?)
            )
        }
        _ => return None,
    })
}

/// `K` in `Argument K must be …`.
fn argument_index(text: &str) -> Option<usize> {
    text.strip_prefix("Argument ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// The one function the expression calls with `argc` arguments (or one fewer, the value
/// of a `~>` chain being the first), if only one is.
fn function_called_with(facts: &Facts, argc: usize) -> Option<&str> {
    unique(
        facts
            .calls
            .iter()
            .filter(|(_, n)| *n == argc || *n + 1 == argc),
    )
}

/// The one function the expression calls with an argument `index` (or one fewer), if only
/// one is.
fn function_with_argument(facts: &Facts, index: usize) -> Option<&str> {
    unique(facts.calls.iter().filter(|(_, n)| *n + 1 >= index))
}

fn unique<'a>(mut calls: impl Iterator<Item = &'a (String, usize)>) -> Option<&'a str> {
    let (first, _) = calls.next()?;
    calls.all(|(n, _)| n == first).then_some(first.as_str())
}

/// A token as jsonata-js quotes it: `JSON.stringify`.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The text of a token the engine names by its kind (`RightParen`, `Identifier("a")`).
fn symbol(kind: &str) -> Option<&str> {
    if let Some(name) = kind.strip_prefix("Identifier(\"") {
        return name.strip_suffix("\")");
    }
    Some(match kind {
        "LeftBracket" => "[",
        "RightBracket" => "]",
        "LeftParen" => "(",
        "RightParen" => ")",
        "LeftBrace" => "{",
        "RightBrace" => "}",
        "Colon" => ":",
        "Semicolon" => ";",
        "Comma" => ",",
        "Dot" => ".",
        "At" => "@",
        "Hash" => "#",
        "Question" => "?",
        "GreaterThan" => ">",
        "LessThan" => "<",
        "Equal" => "=",
        "Plus" => "+",
        "Minus" => "-",
        "Star" => "*",
        "Slash" => "/",
        "Percent" => "%",
        "Ampersand" => "&",
        "Pipe" => "|",
        "Caret" => "^",
        "StarStar" => "**",
        "NotEqual" => "!=",
        "LessThanOrEqual" => "<=",
        "GreaterThanOrEqual" => ">=",
        "And" => "and",
        "Or" => "or",
        "In" => "in",
        "DotDot" => "..",
        "ColonEqual" => ":=",
        "TildeArrow" => "~>",
        _ => return None,
    })
}

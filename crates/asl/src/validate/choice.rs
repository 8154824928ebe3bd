//! Choice states: their rules (And, Or, Not, or Variable with one comparison operator whose
//! operand has the right type), each top-level rule's Next and Assign, and Default.

use serde_json::{Map, Value};

use crate::model::*;

use super::Validator;
use super::fields::{other_language, rule_extra};
use super::jsonata::Reads;

impl Validator {
    /// A Choice state's Choices (JSONPath rules, or JSONata Conditions with their Output)
    /// and Default.
    pub(super) fn choice(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        lang: QueryLanguage,
    ) -> Kind {
        let mut choices = Vec::new();
        match obj.get("Choices") {
            Some(Value::Array(a)) if !a.is_empty() => {
                for (i, c) in a.iter().enumerate() {
                    let cloc = format!("{loc}/Choices/{i}");
                    let Some(o) = c.as_object() else {
                        self.problem(&cloc, "a choice rule must be an object");
                        continue;
                    };
                    let next = match o.get("Next") {
                        Some(Value::String(n)) => n.clone(),
                        _ => {
                            self.problem(&cloc, "a top-level choice rule needs 'Next' (a string)");
                            continue;
                        }
                    };
                    let assign = o.get("Assign").and_then(|a| {
                        self.assign(a, &format!("{cloc}/Assign"), lang, Reads::Input)
                    });
                    let (rule, output) = match lang {
                        QueryLanguage::JsonPath => {
                            (self.rule(o, &cloc, true).map(Condition::Rule), None)
                        }
                        QueryLanguage::Jsonata => {
                            let jsonpath = self.jsonata_rule_fields(o, &cloc);
                            let output = o.get("Output").and_then(|x| {
                                self.payload(x, &format!("{cloc}/Output"), Reads::Input)
                            });
                            let condition = if jsonpath && !o.contains_key("Condition") {
                                None
                            } else {
                                self.condition(o.get("Condition"), &cloc)
                            };
                            (condition, output)
                        }
                    };
                    if let Some(rule) = rule {
                        choices.push(ChoiceRule {
                            rule,
                            next,
                            assign,
                            output,
                        });
                    }
                }
            }
            _ => self.problem(loc, "a Choice state needs a non-empty 'Choices' array"),
        }
        let default = match obj.get("Default") {
            None => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => {
                self.problem(&format!("{loc}/Default"), "Default must be a string");
                None
            }
        };
        Kind::Choice { choices, default }
    }

    /// A Choice rule at `loc` (`top`: one of the Choices, which has Next and may have
    /// Assign; not one nested in And, Or or Not).
    fn rule(&mut self, o: &Map<String, Value>, loc: &str, top: bool) -> Option<Rule> {
        // A JSONata rule's fields in a JSONPath state: refused as such, without the
        // problems a JSONPath rule would have.
        let jsonata: Vec<&String> = o
            .keys()
            .filter(|k| *k == "Condition" || (top && *k == "Output"))
            .collect();
        for k in &jsonata {
            self.problem(
                &format!("{loc}/{k}"),
                other_language(QueryLanguage::JsonPath, k),
            );
        }
        if !jsonata.is_empty() {
            return None;
        }
        let extra_ok = |k: &str| rule_extra(k, top);
        for key in ["And", "Or"] {
            if let Some(v) = o.get(key) {
                for k in o.keys() {
                    if k != key && !extra_ok(k) {
                        self.problem(
                            &format!("{loc}/{k}"),
                            format!("field '{k}' is not allowed next to '{key}'"),
                        );
                    }
                }
                let Some(a) = v.as_array().filter(|a| !a.is_empty()) else {
                    self.problem(
                        &format!("{loc}/{key}"),
                        format!("{key} must be a non-empty array of rules"),
                    );
                    return None;
                };
                let mut rules = Vec::new();
                for (i, r) in a.iter().enumerate() {
                    let rloc = format!("{loc}/{key}/{i}");
                    match r.as_object() {
                        Some(ro) => {
                            if ro.contains_key("Next") {
                                self.problem(
                                    &format!("{rloc}/Next"),
                                    "a nested rule cannot have 'Next'",
                                );
                            }
                            rules.extend(self.rule(ro, &rloc, false));
                        }
                        None => self.problem(&rloc, "a rule must be an object"),
                    }
                }
                return Some(if key == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                });
            }
        }
        if let Some(v) = o.get("Not") {
            let nloc = format!("{loc}/Not");
            let Some(ro) = v.as_object() else {
                self.problem(&nloc, "Not must be a single rule object");
                return None;
            };
            if ro.contains_key("Next") {
                self.problem(&format!("{nloc}/Next"), "a nested rule cannot have 'Next'");
            }
            return self.rule(ro, &nloc, false).map(|r| Rule::Not(Box::new(r)));
        }
        let variable = match o.get("Variable") {
            Some(Value::String(s)) => self.path(s, &format!("{loc}/Variable"), false)?,
            Some(_) => {
                self.problem(&format!("{loc}/Variable"), "Variable must be a path string");
                return None;
            }
            None => {
                self.problem(
                    loc,
                    "a choice rule needs 'Variable' and a comparison, or And/Or/Not",
                );
                return None;
            }
        };
        let mut found: Option<(Op, Operand, String)> = None;
        for k in o.keys() {
            if k == "Variable" || extra_ok(k) {
                continue;
            }
            let (base, is_path) = match k.strip_suffix("Path") {
                Some(b) if Op::ALL.iter().any(|(n, op)| *n == b && op.has_path_form()) => (b, true),
                _ => (k.as_str(), false),
            };
            let Some((_, op)) = Op::ALL.iter().find(|(n, _)| *n == base) else {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!("unknown comparison operator '{k}'"),
                );
                continue;
            };
            if found.is_some() {
                self.problem(
                    &format!("{loc}/{k}"),
                    "a choice rule takes exactly one comparison operator",
                );
                continue;
            }
            let v = &o[k];
            let kloc = format!("{loc}/{k}");
            let operand = if is_path {
                let Some(s) = v.as_str() else {
                    self.problem(&kloc, format!("{k} must be a path string"));
                    continue;
                };
                Operand::Path(self.path(s, &kloc, false)?)
            } else {
                let ok = match op {
                    Op::StringEquals
                    | Op::StringLessThan
                    | Op::StringGreaterThan
                    | Op::StringLessThanEquals
                    | Op::StringGreaterThanEquals
                    | Op::StringMatches => v.is_string(),
                    Op::NumericEquals
                    | Op::NumericLessThan
                    | Op::NumericGreaterThan
                    | Op::NumericLessThanEquals
                    | Op::NumericGreaterThanEquals => v.is_number(),
                    Op::TimestampEquals
                    | Op::TimestampLessThan
                    | Op::TimestampGreaterThan
                    | Op::TimestampLessThanEquals
                    | Op::TimestampGreaterThanEquals => v
                        .as_str()
                        .is_some_and(|s| crate::timestamp::parse(s).is_some()),
                    _ => v.is_boolean(),
                };
                if !ok {
                    self.problem(&kloc, format!("{k} has a value of the wrong type: {v}"));
                }
                Operand::Literal(v.clone())
            };
            found = Some((*op, operand, k.clone()));
        }
        let Some((op, operand, _)) = found else {
            self.problem(loc, "a choice rule needs one comparison operator");
            return None;
        };
        Some(Rule::Test {
            variable,
            op,
            operand,
        })
    }
}

//! What an expression reads, learnt once at compile time from its syntax tree: the free
//! variables (`$states` and workflow variables) with the parts of each it reads, the
//! functions it calls by name, and whether it refers to an input document at its top level
//! (which Step Functions does not have).

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage};

use super::value::Need;

/// The deepest syntax tree walked; deeper trees are refused at compile time (the parser's
/// own limit is higher than a recursive walk over the tree should go).
pub(super) const MAX_TREE_DEPTH: usize = 2000;

/// Compile-time facts about one expression.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    /// Each free variable read (`states` included, `$` excluded) with what of it is read.
    pub vars: Vec<(String, Need)>,
    /// Names called as functions or read as variables (to register AWS's functions only
    /// where they are used).
    pub names: Vec<String>,
    /// The references to an input document at the top level: `$`, `$$` or field names.
    pub top_level_input: Vec<String>,
    /// The built-in functions called by name, with their number of arguments (to name the
    /// function in an error message).
    pub calls: Vec<(String, usize)>,
    /// The ordering operators used (`<`, `<=`, `>`, `>=`), each once.
    pub comparisons: Vec<&'static str>,
    /// An operator jsonata-js added after 2.0.6, the version AWS runs: `??` or `?:`
    /// (jsonata-js v2.1.0), which 2.0.6 does not parse.
    pub newer_operator: Option<&'static str>,
}

impl Facts {
    /// Walks `ast`; `None` when the tree is deeper than [`MAX_TREE_DEPTH`].
    pub(super) fn of(ast: &AstNode) -> Option<Facts> {
        let mut w = Walker {
            facts: Facts::default(),
            parent_used: false,
            dollar_dollar: false,
            too_deep: false,
        };
        w.node(ast, 0);
        if w.too_deep {
            return None;
        }
        let mut facts = w.facts;
        // `%` reaches the object a value came from, which a pruned copy would not hold.
        if w.parent_used {
            for (_, need) in &mut facts.vars {
                *need = Need::All;
            }
        }
        top_level_inputs(ast, 0, &mut facts.top_level_input);
        // SPEC "JSONata Concepts": "Since the variable "$$" always refers to the entire
        // input document, a JSONata expression MUST NOT reference "$$"" anywhere.
        if w.dollar_dollar && !facts.top_level_input.iter().any(|n| n == "$$") {
            facts.top_level_input.push("$$".into());
        }
        Some(facts)
    }

    /// What of the variable `name` the expression reads (`None`: nothing).
    pub(super) fn need(&self, name: &str) -> Option<&Need> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, need)| need)
    }

    /// Whether the expression names `$states.<field>` (directly, as `$states.result...`).
    pub(super) fn names_states_field(&self, field: &str) -> bool {
        match self.need("states") {
            Some(Need::Fields(fields)) => fields.iter().any(|(f, _)| f == field),
            _ => false,
        }
    }
}

struct Walker {
    facts: Facts,
    parent_used: bool,
    /// `$$` appears somewhere.
    dollar_dollar: bool,
    too_deep: bool,
}

impl Walker {
    fn read(&mut self, name: &str, steps: &[String]) {
        match self.facts.vars.iter_mut().find(|(n, _)| n == name) {
            Some((_, need)) => need.add(steps),
            None => {
                let mut need = Need::Fields(Vec::new());
                need.add(steps);
                self.facts.vars.push((name.to_string(), need));
            }
        }
    }

    fn mention(&mut self, name: &str) {
        if !self.facts.names.iter().any(|n| n == name) {
            self.facts.names.push(name.to_string());
        }
    }

    fn node(&mut self, n: &AstNode, depth: usize) {
        if depth > MAX_TREE_DEPTH {
            self.too_deep = true;
            return;
        }
        let d = depth + 1;
        match n {
            AstNode::Variable(name) => {
                if !name.is_empty() {
                    self.mention(name);
                    self.read(name, &[]);
                }
            }
            AstNode::Path { steps } => self.path(steps, d),
            AstNode::Parent(_) => self.parent_used = true,
            AstNode::ParentVariable(name) => {
                if name.is_empty() {
                    self.dollar_dollar = true;
                }
            }
            AstNode::Binary { lhs, rhs, op } => {
                let comparison = match op {
                    BinaryOp::Coalesce => {
                        self.facts.newer_operator = Some("??");
                        None
                    }
                    BinaryOp::Default => {
                        self.facts.newer_operator = Some("?:");
                        None
                    }
                    BinaryOp::LessThan => Some("<"),
                    BinaryOp::LessThanOrEqual => Some("<="),
                    BinaryOp::GreaterThan => Some(">"),
                    BinaryOp::GreaterThanOrEqual => Some(">="),
                    _ => None,
                };
                if let Some(c) = comparison
                    && !self.facts.comparisons.contains(&c)
                {
                    self.facts.comparisons.push(c);
                }
                // `$x := …` binds `$x`; it does not read it.
                if !(*op == BinaryOp::ColonEqual && matches!(**lhs, AstNode::Variable(_))) {
                    self.node(lhs, d);
                }
                self.node(rhs, d);
            }
            AstNode::Unary { operand, .. } => self.node(operand, d),
            AstNode::Function {
                name,
                args,
                is_builtin,
            } => {
                self.mention(name);
                if *is_builtin
                    && !self
                        .facts
                        .calls
                        .iter()
                        .any(|(n, c)| n == name && *c == args.len())
                {
                    self.facts.calls.push((name.clone(), args.len()));
                }
                for a in args {
                    self.node(a, d);
                }
            }
            AstNode::Call { procedure, args } => {
                self.node(procedure, d);
                for a in args {
                    self.node(a, d);
                }
            }
            AstNode::Lambda { body, .. } => self.node(body, d),
            AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
                for i in items {
                    self.node(i, d);
                }
            }
            AstNode::Object(pairs) => {
                for (k, v) in pairs {
                    self.node(k, d);
                    self.node(v, d);
                }
            }
            AstNode::ObjectTransform { input, pattern } => {
                self.node(input, d);
                for (k, v) in pattern {
                    self.node(k, d);
                    self.node(v, d);
                }
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                self.node(condition, d);
                self.node(then_branch, d);
                if let Some(e) = else_branch {
                    self.node(e, d);
                }
            }
            AstNode::FunctionApplication(inner) => self.node(inner, d),
            AstNode::Sort { input, terms } => {
                self.node(input, d);
                for (t, _) in terms {
                    self.node(t, d);
                }
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                self.node(location, d);
                self.node(update, d);
                if let Some(x) = delete {
                    self.node(x, d);
                }
            }
            AstNode::String(_)
            | AstNode::Name(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::Wildcard
            | AstNode::Descendant => {}
        }
    }

    /// A path that starts at a variable and goes on by plain member names reads only those
    /// members; anything else in it is walked as usual.
    fn path(&mut self, steps: &[PathStep], d: usize) {
        if let Some(first) = steps.first()
            && let AstNode::Variable(name) = &first.node
            && !name.is_empty()
            && plain(first)
        {
            let mut names: Vec<String> = steps[1..]
                .iter()
                .map_while(|s| match &s.node {
                    AstNode::Name(n) if plain(s) => Some(n.clone()),
                    _ => None,
                })
                .collect();
            let mut rest = &steps[1 + names.len()..];
            // A member with a filter or index (`c[0]`) is read whole.
            if let Some(s) = rest.first()
                && let AstNode::Name(n) = &s.node
                && unbound(s)
            {
                names.push(n.clone());
                for stage in &s.stages {
                    if let Stage::Filter(f) = stage {
                        self.node(f, d);
                    }
                }
                rest = &rest[1..];
            }
            self.mention(name);
            self.read(name, &names);
            for s in rest {
                self.step(s, d);
            }
            return;
        }
        for s in steps {
            self.step(s, d);
        }
    }

    fn step(&mut self, s: &PathStep, d: usize) {
        if s.ancestor_label.is_some() {
            self.parent_used = true;
        }
        self.node(&s.node, d);
        for stage in &s.stages {
            if let Stage::Filter(f) = stage {
                self.node(f, d);
            }
        }
    }
}

/// A step with nothing but its node: no filter, index or binding.
fn plain(s: &PathStep) -> bool {
    s.stages.is_empty() && unbound(s)
}

/// A step that binds nothing (`@`, `#`, an ancestor label).
fn unbound(s: &PathStep) -> bool {
    s.focus.is_none() && s.index_var.is_none() && s.ancestor_label.is_none() && !s.is_tuple
}

/// The references to an input document evaluated at the expression's top level, each name
/// once: `$`, `$$` or a bare field name. Lambdas and the inner steps of paths, whose context
/// is a value the expression produced, are not the top level.
fn top_level_inputs(n: &AstNode, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_TREE_DEPTH {
        return;
    }
    let d = depth + 1;
    let mut add = |name: &str| {
        if !out.iter().any(|x| x == name) {
            out.push(name.to_string());
        }
    };
    match n {
        AstNode::Variable(name) if name.is_empty() => add("$"),
        AstNode::ParentVariable(name) if name.is_empty() => add("$$"),
        AstNode::Name(name) => add(name),
        AstNode::Path { steps } => {
            if let Some(s) = steps.first() {
                top_level_inputs(&s.node, d, out);
            }
        }
        AstNode::Binary { op, lhs, rhs } => match op {
            BinaryOp::ColonEqual => top_level_inputs(rhs, d, out),
            BinaryOp::FocusBind | BinaryOp::IndexBind => {}
            _ => {
                top_level_inputs(lhs, d, out);
                top_level_inputs(rhs, d, out);
            }
        },
        AstNode::Unary { operand, .. } => top_level_inputs(operand, d, out),
        AstNode::Function { args, .. } => args.iter().for_each(|a| top_level_inputs(a, d, out)),
        AstNode::Call { procedure, args } => {
            top_level_inputs(procedure, d, out);
            args.iter().for_each(|a| top_level_inputs(a, d, out));
        }
        AstNode::Array(items) | AstNode::Block(items) => {
            items.iter().for_each(|a| top_level_inputs(a, d, out))
        }
        AstNode::Object(pairs) => pairs.iter().for_each(|(k, v)| {
            top_level_inputs(k, d, out);
            top_level_inputs(v, d, out);
        }),
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            top_level_inputs(condition, d, out);
            top_level_inputs(then_branch, d, out);
            if let Some(e) = else_branch {
                top_level_inputs(e, d, out);
            }
        }
        AstNode::Sort { input, .. } | AstNode::ObjectTransform { input, .. } => {
            top_level_inputs(input, d, out)
        }
        _ => {}
    }
}

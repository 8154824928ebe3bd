//! The states that do their work in one step, without Retry or Catch: Pass, Wait, Succeed,
//! Fail and Choice.

use serde_json::Value;

use crate::choice;
use crate::model::{ChoiceRule, Condition, FailField, PassPath, Wait};

use super::Step;
use super::entered::Entered;
use super::failures::Failure;
use super::fiber::Fiber;

impl<'m> Entered<'_, 'm> {
    /// Pass: its Result, or its Parameters, or its effective input, as its result (JSONata:
    /// its input, which its Output may replace).
    pub(super) fn pass(
        &self,
        p: Option<&PassPath>,
        raw: Value,
        fiber: &mut Fiber,
    ) -> Result<Step<'m>, Failure> {
        let effective = self.input(&raw)?;
        let (value, result_path) = match p {
            Some(PassPath {
                result: Some(r),
                result_path,
                ..
            }) => (r.clone(), Some(result_path)),
            Some(PassPath {
                parameters,
                result_path,
                ..
            }) => (self.parameters(parameters, effective)?, Some(result_path)),
            None => (effective, None),
        };
        let out = self.output(&raw, value, result_path, self.state.assign.as_ref(), None)?;
        Ok(self.transition(self.exit(fiber, out)?))
    }

    /// Succeed: the effective input, through OutputPath, ends the machine.
    pub(super) fn succeed(&self, raw: Value, fiber: &mut Fiber) -> Result<Step<'m>, Failure> {
        let effective = self.input(&raw)?;
        let out = self.output(&raw, effective, None, None, None)?;
        Ok(Step::End(self.exit(fiber, out)?))
    }

    /// Fail: fails with its Error and Cause (no StateExited).
    pub(super) fn fail(
        &self,
        error: &Option<FailField>,
        cause: &Option<FailField>,
        raw: Value,
    ) -> Result<Step<'m>, Failure> {
        let error = self.fail_field(error, "ErrorPath", &raw)?;
        let cause = self.fail_field(cause, "CausePath", &raw)?;
        Err(Failure::raised(error, cause))
    }

    /// Choice: the first rule that matches the effective input (JSONata: whose Condition is
    /// true), else Default, names the next state; the rule's Assign and Output (or the
    /// state's) apply.
    pub(super) fn choice(
        &self,
        choices: &'m [ChoiceRule],
        default: &'m Option<String>,
        raw: Value,
        fiber: &mut Fiber,
    ) -> Result<Step<'m>, Failure> {
        let effective = self.input(&raw)?;
        let mut chosen = None;
        for c in choices {
            let hit = match &c.rule {
                Condition::Rule(r) => {
                    choice::eval(r, &effective, &self.env()).map_err(|e| self.runtime(&e.0))?
                }
                Condition::Fixed(b) => *b,
                Condition::Expr(e) => {
                    match self.evaluate_expr(e, "Condition", self.sees(&raw, &self.context))? {
                        Value::Bool(b) => b,
                        other => {
                            return Err(self.query_failure(
                                &super::jsonata_fields::unexpected_type(
                                    e,
                                    "Condition",
                                    "boolean",
                                    &other,
                                ),
                            ));
                        }
                    }
                }
            };
            if hit {
                chosen = Some(c);
                break;
            }
        }
        let (next, assign, output) = match chosen {
            Some(c) => (
                c.next.as_str(),
                c.assign.as_ref().or(self.state.assign.as_ref()),
                c.output.as_ref(),
            ),
            None => match default {
                Some(d) => (d.as_str(), self.state.assign.as_ref(), None),
                None => {
                    return Err(Failure::in_state(
                        "States.NoChoiceMatched",
                        self.name,
                        self.entered_id,
                        "Failed to transition out of the state. The state does not point to a next state.",
                    ));
                }
            },
        };
        let out = self.output(&raw, effective, None, assign, output)?;
        Ok(Step::Next(next, self.exit(fiber, out)?))
    }

    /// Wait: waits (on the execution's clock), then hands on its effective input.
    pub(super) async fn wait(
        &self,
        w: &Wait,
        raw: Value,
        fiber: &mut Fiber,
    ) -> Result<Step<'m>, Failure> {
        let effective = self.input(&raw)?;
        let delay = self.wait_delay(w, &effective)?;
        if !delay.is_zero() {
            let a = fiber.take_awake();
            fiber.awake = self.run.clock.sleep(a, delay).await;
        }
        let out = self.output(&raw, effective, None, self.state.assign.as_ref(), None)?;
        Ok(self.transition(self.exit(fiber, out)?))
    }
}

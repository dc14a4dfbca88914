//! A policy group at work: its expression evaluated over its members' verdicts on one request, and
//! the answer Kubewarden's policy-server gives for a group.
//!
//! Members are evaluated one after the other, in the order the expression needs them, each at most
//! once, and only when the group's verdict still depends on it. A member that fails (timeout, trap,
//! bad answer) or answers with a mutation counts as a rejection, with the failure (or "mutation is
//! not allowed inside of policy group") as its message. A rejected group answers with the group's
//! `message` and, in `status.details.causes`, one cause per member that was evaluated and rejected
//! (`field: spec.policies.MEMBER`, its message), in member name order; an accepted group answers
//! allowed with no status. Groups never mutate. A member that ran into its deadline counts towards the
//! group's circuit breaker, as the timeout of a policy does towards its own.

use std::collections::BTreeMap;

use serde_json::Value;

use super::expression::Expression;
use super::isolation::Evaluated;
use super::policies::PolicyMode;
use crate::admission::{StatusCause, ValidationRequest, ValidationResponse};
use crate::error::EvaluatorError;
use crate::policy::Policy;

/// A member ready to evaluate: its compiled policy and settings.
pub(crate) struct Member {
    pub(crate) policy: Policy,
    pub(crate) settings: Value,
}

/// A group ready to serve: its members loaded and verified like any policy.
pub(crate) struct LoadedGroup {
    pub(crate) members: BTreeMap<String, Member>,
    pub(crate) expression: Expression,
    pub(crate) message: String,
    pub(crate) mode: PolicyMode,
}

/// The message of a member that answered with a mutation (Kubewarden's words).
pub const MUTATION_IN_GROUP: &str = "mutation is not allowed inside of policy group";

/// A group's answer, and whether one of the members it evaluated ran into its deadline.
pub(crate) struct GroupAnswer {
    pub(crate) response: ValidationResponse,
    pub(crate) timed_out: bool,
}

impl Evaluated for GroupAnswer {
    fn ran_out_of_time(&self) -> bool {
        self.timed_out
    }
}

impl LoadedGroup {
    /// The group's answer to `request` (blocking: members run here, on the caller's thread).
    pub(crate) fn validate(&self, request: &Value) -> GroupAnswer {
        let (response, timed_out) = self.verdict(request);
        GroupAnswer {
            response,
            timed_out,
        }
    }

    /// The group's verdict, and whether a member it evaluated timed out.
    fn verdict(&self, request: &Value) -> (ValidationResponse, bool) {
        let mut verdicts: BTreeMap<&str, ValidationResponse> = BTreeMap::new();
        let mut timed_out = false;
        let accepted = self.expression.evaluate(&mut |name: &str| {
            if let Some(verdict) = verdicts.get(name) {
                return verdict.accepted;
            }
            let (verdict, member_timed_out) = self.member_verdict(name, request);
            timed_out |= member_timed_out;
            let accepted = verdict.accepted;
            if let Some((name, _)) = self.members.get_key_value(name) {
                verdicts.insert(name, verdict);
            }
            accepted
        });
        if accepted {
            let accepted = ValidationResponse {
                accepted: true,
                ..ValidationResponse::default()
            };
            return (accepted, timed_out);
        }
        let causes = verdicts
            .into_iter()
            .filter(|(_, verdict)| !verdict.accepted)
            .map(|(name, verdict)| StatusCause {
                field: format!("spec.policies.{name}"),
                message: verdict.message,
            })
            .collect();
        let rejected = ValidationResponse {
            accepted: false,
            message: Some(self.message.clone()),
            causes,
            ..ValidationResponse::default()
        };
        (rejected, timed_out)
    }

    /// One member's verdict (its answer, a failure as a rejection, a mutation refused), and whether
    /// it ran into its deadline.
    fn member_verdict(&self, name: &str, request: &Value) -> (ValidationResponse, bool) {
        let Some(member) = self.members.get(name) else {
            // The expression was checked against the members when the file was read.
            return (
                rejection(format!("{name} is not a member of the group")),
                false,
            );
        };
        let answer = member.policy.validate(&ValidationRequest {
            request: request.clone(),
            settings: member.settings.clone(),
        });
        let answer = match answer {
            Ok(answer) if answer.mutated_object.is_some() => rejection(MUTATION_IN_GROUP.into()),
            Ok(answer) => answer,
            Err(err) => {
                tracing::warn!(member = %name, error = %err, "policy group member failed");
                let timed_out = matches!(err, EvaluatorError::Timeout(_));
                return (ValidationResponse::from_failure(&err), timed_out);
            }
        };
        (answer, false)
    }
}

fn rejection(message: String) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(message),
        ..ValidationResponse::default()
    }
}

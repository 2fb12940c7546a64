//! The audit log's vocabulary: who did it ([`Actor`]) and what happened ([`AuditEvent`]), with
//! the details a viewer filters on as fields. The store appends records and never changes one.

use serde::{Deserialize, Serialize};
use sspr_protocol::gate::Method;
use sspr_protocol::register::Slot;
use sspr_protocol::ErrorCode;

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// The account's owner, through the public portal.
    SelfService,
    /// A helpdesk staff member, by their account name.
    Helpdesk(String),
    /// An administrator, by their account name.
    Admin(String),
    /// An agent, by its id.
    Agent(String),
    /// The server itself (sends, fraud rules).
    System,
}

impl Actor {
    /// The actor's kind, as the audit log's `actor` column holds it.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::SelfService => "self",
            Actor::Helpdesk(_) => "helpdesk",
            Actor::Admin(_) => "admin",
            Actor::Agent(_) => "agent",
            Actor::System => "system",
        }
    }

    /// Who exactly, where the kind alone does not say.
    pub fn id(&self) -> &str {
        match self {
            Actor::Helpdesk(id) | Actor::Admin(id) | Actor::Agent(id) => id,
            Actor::SelfService | Actor::System => "",
        }
    }

    /// How a package names its actor to the agent (which logs it, and lets only the account's
    /// owner reset without history where that matters).
    pub fn package_name(&self) -> String {
        match self.id() {
            "" => self.kind().to_owned(),
            id => format!("{}:{id}", self.kind()),
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A write-back got no answer (the agent or a replica went away): it may or may not have
    /// been applied; the user's retry asks again under the same request id.
    WritebackUnanswered {
        operation: sspr_protocol::package::Operation,
        request_id: String,
    },
    ResetSucceeded {
        request_id: String,
    },
    ResetRefused {
        reason: ErrorCode,
    },
    UnlockSucceeded {
        request_id: String,
    },
    UnlockRefused {
        reason: ErrorCode,
    },
    ChangeSucceeded {
        request_id: String,
    },
    ChangeRefused {
        reason: ErrorCode,
    },
    /// Signed in to manage verification methods.
    RegisterSignIn,
    /// A staff member signed in to the helpdesk console, past their second factor.
    StaffSignedIn {
        factor: sspr_protocol::helpdesk::Factor,
    },
    StaffSignedOut,
    /// A staff member verified a caller by a code they read back.
    CallerVerified {
        method: sspr_protocol::helpdesk::CallerMethod,
    },
    /// A staff action refused: the account is off limits to staff.
    StaffRefused {
        action: String,
        why: sspr_protocol::helpdesk::OffLimits,
    },
    /// A staff member reset the password; how the caller was verified (none: skipped, with
    /// the reason), the ticket.
    StaffReset {
        request_id: String,
        caller: Option<sspr_protocol::helpdesk::CallerMethod>,
        ticket: Option<String>,
        skip_reason: Option<String>,
        must_change: bool,
    },
    /// A staff member mailed the user a one-time link to set their own password.
    StaffLinkSent {
        caller: Option<sspr_protocol::helpdesk::CallerMethod>,
        ticket: Option<String>,
        skip_reason: Option<String>,
        expires_at: i64,
    },
    /// A staff member removed a registered method (`slot`), or the whole registration (none).
    StaffRevoked {
        slot: Option<Slot>,
        caller: Option<sspr_protocol::helpdesk::CallerMethod>,
        ticket: Option<String>,
        skip_reason: Option<String>,
    },
    StaffUnlock {
        request_id: String,
        caller: Option<sspr_protocol::helpdesk::CallerMethod>,
        ticket: Option<String>,
        skip_reason: Option<String>,
    },
    MethodAdded {
        slot: Slot,
    },
    MethodRemoved {
        slot: Slot,
    },
    /// A provider took a text or call; its answer for tracing, digits runs hidden (it may echo
    /// the message or the number).
    CodeSent {
        method: Method,
        provider_answer: String,
    },
    /// A mail server or provider refused a code; its answer as it gave it.
    CodeSendFailed {
        method: Method,
        provider_answer: String,
    },
    /// The fraud rules stopped a text or call before it was sent.
    SendRefused {
        reason: String,
    },
    AgentOnboarded {
        name: String,
        version: String,
    },
    /// A rate limit refused a request; the subject is what it counts (an address, a name, a
    /// masked destination).
    RateLimited {
        limit: String,
    },
    /// A wrong guess: a wrong or exhausted code, wrong answers, or a failed CAPTCHA. Never
    /// what was typed.
    GuessFailed {
        reason: ErrorCode,
        address: String,
    },
    AgentKeysRolledOver {
        old_package_key: String,
        new_package_key: String,
        rsa_key: String,
    },
}

impl AuditEvent {
    /// The event's name, as the audit log's `event` column holds it.
    pub fn name(&self) -> &'static str {
        match self {
            AuditEvent::ResetSucceeded { .. } => "reset_succeeded",
            AuditEvent::ResetRefused { .. } => "reset_refused",
            AuditEvent::UnlockSucceeded { .. } => "unlock_succeeded",
            AuditEvent::UnlockRefused { .. } => "unlock_refused",
            AuditEvent::ChangeSucceeded { .. } => "change_succeeded",
            AuditEvent::WritebackUnanswered { .. } => "writeback_unanswered",
            AuditEvent::ChangeRefused { .. } => "change_refused",
            AuditEvent::RegisterSignIn => "register_sign_in",
            AuditEvent::StaffSignedIn { .. } => "staff_signed_in",
            AuditEvent::StaffSignedOut => "staff_signed_out",
            AuditEvent::CallerVerified { .. } => "caller_verified",
            AuditEvent::StaffRefused { .. } => "staff_refused",
            AuditEvent::StaffReset { .. } => "staff_reset",
            AuditEvent::StaffUnlock { .. } => "staff_unlock",
            AuditEvent::StaffLinkSent { .. } => "staff_link_sent",
            AuditEvent::StaffRevoked { .. } => "staff_revoked",
            AuditEvent::MethodAdded { .. } => "method_added",
            AuditEvent::MethodRemoved { .. } => "method_removed",
            AuditEvent::CodeSent { .. } => "code_sent",
            AuditEvent::CodeSendFailed { .. } => "code_send_failed",
            AuditEvent::SendRefused { .. } => "send_refused",
            AuditEvent::AgentOnboarded { .. } => "agent_onboarded",
            AuditEvent::RateLimited { .. } => "rate_limited",
            AuditEvent::GuessFailed { .. } => "guess_failed",
            AuditEvent::AgentKeysRolledOver { .. } => "agent_keys_rolled_over",
        }
    }

    /// The outcome of a write-back for `op`: succeeded with its request id, or refused with
    /// the reason the user was given.
    pub fn writeback(
        op: sspr_protocol::package::Operation,
        request_id: &str,
        outcome: Result<(), ErrorCode>,
    ) -> Self {
        use sspr_protocol::package::Operation;
        let request_id = request_id.to_owned();
        match (op, outcome) {
            (Operation::Unlock, Ok(())) => AuditEvent::UnlockSucceeded { request_id },
            (Operation::Unlock, Err(reason)) => AuditEvent::UnlockRefused { reason },
            (Operation::Change, Ok(())) => AuditEvent::ChangeSucceeded { request_id },
            (Operation::Change, Err(reason)) => AuditEvent::ChangeRefused { reason },
            (_, Ok(())) => AuditEvent::ResetSucceeded { request_id },
            (_, Err(reason)) => AuditEvent::ResetRefused { reason },
        }
    }
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: i64,
    pub actor: Actor,
    /// The account (or agent, or masked destination) the event is about.
    pub subject: String,
    pub event: AuditEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_serialised_tag() {
        let events = [
            AuditEvent::ResetRefused {
                reason: ErrorCode::PasswordHistory,
            },
            AuditEvent::RegisterSignIn,
            AuditEvent::WritebackUnanswered {
                operation: sspr_protocol::package::Operation::Reset,
                request_id: "r1".into(),
            },
            AuditEvent::MethodAdded { slot: Slot::Mobile },
            AuditEvent::CodeSendFailed {
                method: Method::MobileCall,
                provider_answer: "400".into(),
            },
        ];
        for event in events {
            let json = serde_json::to_value(&event).expect("json");
            assert_eq!(json["event"], event.name());
            let back: AuditEvent = serde_json::from_value(json).expect("back");
            assert_eq!(back, event);
        }
    }

    #[test]
    fn package_names_keep_the_agent_s_self_service_word() {
        assert_eq!(Actor::SelfService.package_name(), "self");
        assert_eq!(
            Actor::Helpdesk("marie".into()).package_name(),
            "helpdesk:marie"
        );
    }
}

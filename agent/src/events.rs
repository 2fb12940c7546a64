//! Numbered events, so an operator can grep the log for an outcome and look it up in the README.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Started = 1000,
    Onboarded = 1001,
    OnboardingFailed = 1002,
    Stopping = 1003,
    Stopped = 1004,
    Connected = 1100,
    ConnectionLost = 1101,
    RelayRefused = 1102,
    HeartbeatSent = 1103,
    PolicyUnreadable = 1104,
    PsoUnreadable = 1105,
    LookupDone = 1200,
    SearchDone = 1201,
    DetailsRead = 1202,
    KeysRolledOver = 1300,
    KeyRolloverFailed = 1301,
    PreviousKeysForgotten = 1302,
    ResetSucceeded = 2000,
    ResetRejectedByPolicy = 2001,
    ResetFailed = 2002,
    ResetRefusedNoHistory = 2003,
    ResetRefusedAccount = 2004,
    RefusedOffLimits = 2005,
    ChangeSucceeded = 2100,
    ChangeRejectedByPolicy = 2101,
    ChangeRefusedCredentials = 2102,
    UnlockSucceeded = 2200,
    SignInVerified = 2300,
    PackageRefused = 3000,
    SealUnopenable = 3001,
    RequestRepeated = 3002,
    DirectoryUnreachable = 4000,
    DirectoryAccessDenied = 4001,
}

impl Event {
    pub fn id(self) -> u16 {
        self as u16
    }
}

/// Logs an event with its number: `event!(Event::ResetSucceeded, anchor = %a, "password reset")`.
#[macro_export]
macro_rules! event {
    ($level:ident, $event:expr, $($rest:tt)*) => {
        tracing::$level!(event_id = $event.id(), $($rest)*)
    };
}

//! Every call the console makes. Pages never build URLs, parse JSON or see the anti-forgery
//! token: the token of the current session is kept here and sent with every POST.

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::helpdesk::*;
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::Lang;
pub use sspr_ui::api::{change_key, status, Failure};

thread_local! {
    /// The session's anti-forgery token (never stored: a reload asks the session for it).
    static CSRF: RefCell<String> = const { RefCell::new(String::new()) };
}

fn remember(token: &str) {
    CSRF.with(|t| token.clone_into(&mut t.borrow_mut()));
}

/// Forgets the token when the session ends.
pub fn forget() {
    CSRF.with(|t| t.borrow_mut().clear());
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, Failure> {
    let token = CSRF.with(|t| t.borrow().clone());
    sspr_ui::api::post(path, body, &[(CSRF_HEADER, &token)]).await
}

/// The signed-in session, if this browser has one (after a reload).
pub async fn session() -> Result<StaffSession, Failure> {
    let session: StaffSession = sspr_ui::api::get(SESSION_PATH, &[]).await?;
    remember(&session.csrf_token);
    Ok(session)
}

pub async fn sign_in(
    username: String,
    sealed_password: SealedSecret,
    lang: Lang,
) -> Result<SecondFactorNeeded, Failure> {
    let needed: SecondFactorNeeded = post(
        SIGN_IN_PATH,
        &StaffSignIn {
            username,
            sealed_password,
            lang,
        },
    )
    .await?;
    remember(&needed.csrf_token);
    Ok(needed)
}

/// Mails a code to the staff member's own address.
pub async fn send_factor(factor: Factor) -> Result<FactorOffer, Failure> {
    post(FACTOR_SEND_PATH, &FactorSend { factor }).await
}

pub async fn second_factor(factor: Factor, code: String) -> Result<StaffSession, Failure> {
    let session: StaffSession = post(FACTOR_PATH, &FactorAnswer { factor, code }).await?;
    remember(&session.csrf_token);
    Ok(session)
}

pub async fn sign_out() -> Result<(), Failure> {
    let token = CSRF.with(|t| t.borrow().clone());
    let done = sspr_ui::api::post_no_content(SIGN_OUT_PATH, &(), &[(CSRF_HEADER, &token)]).await;
    forget();
    done
}

pub async fn search(query: String) -> Result<SearchResults, Failure> {
    post(SEARCH_PATH, &SearchRequest { query }).await
}

pub async fn account(account: AccountRef) -> Result<AccountView, Failure> {
    post(ACCOUNT_PATH, &account).await
}

pub async fn verify_send(account: AccountRef, method: CallerMethod) -> Result<VerifySent, Failure> {
    post(VERIFY_SEND_PATH, &VerifySend { account, method }).await
}

pub async fn verify(
    account: AccountRef,
    method: CallerMethod,
    code: String,
) -> Result<AccountView, Failure> {
    post(
        VERIFY_PATH,
        &VerifyAnswer {
            account,
            method,
            code,
        },
    )
    .await
}

pub async fn reset(request: StaffReset) -> Result<ActionDone, Failure> {
    post(RESET_PATH, &request).await
}

pub async fn unlock(request: StaffUnlock) -> Result<ActionDone, Failure> {
    post(UNLOCK_PATH, &request).await
}

/// Mails the user a single-use link to set their own password.
pub async fn link(request: StaffLink) -> Result<LinkSent, Failure> {
    post(LINK_PATH, &request).await
}

/// Removes a registered method, or the whole registration; answers with the account anew.
pub async fn revoke(request: StaffRevoke) -> Result<AccountView, Failure> {
    post(REVOKE_PATH, &request).await
}

//! The one translation layer: every string a user reads — in the browser and in mail — is a
//! `Text` here, in English and Dutch. Placeholders in braces are filled by [`tf`].

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Nl,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Nl];

    /// Picks a language from a BCP 47 tag or an Accept-Language header ("nl-BE,nl;q=0.9,en").
    pub fn from_tags(tags: &str) -> Lang {
        for tag in tags.split(',') {
            let primary = tag.split(';').next().unwrap_or("").trim();
            let primary = primary
                .split(['-', '_'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            match primary.as_str() {
                "nl" => return Lang::Nl,
                "en" => return Lang::En,
                _ => {}
            }
        }
        Lang::En
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Nl => "Nederlands",
        }
    }
}

/// Anything that has words in every language: the page's texts and the messages' texts.
pub trait Phrase: Copy {
    fn in_lang(self, lang: Lang) -> &'static str;
}

macro_rules! texts {
    ($enum:ident; $($name:ident => $en:literal, $nl:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $enum { $($name),* }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$name),*];
        }

        impl Phrase for $enum {
            fn in_lang(self, lang: Lang) -> &'static str {
                match (lang, self) {
                    $((Lang::En, $enum::$name) => $en, (Lang::Nl, $enum::$name) => $nl,)*
                }
            }
        }
    };
    // Texts that WebAssembly does not carry: the browser loads one language's at a time
    // (`loaded`), from the files `sspr-texts` writes. Natively they are compiled in as above.
    ($enum:ident, loaded in the browser; $($name:ident => $en:literal, $nl:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $enum { $($name),* }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$name),*];
        }

        impl Phrase for $enum {
            #[cfg(not(target_family = "wasm"))]
            fn in_lang(self, lang: Lang) -> &'static str {
                match (lang, self) {
                    $((Lang::En, $enum::$name) => $en, (Lang::Nl, $enum::$name) => $nl,)*
                }
            }

            #[cfg(target_family = "wasm")]
            fn in_lang(self, lang: Lang) -> &'static str {
                loaded::text(lang, self as usize)
            }
        }
    };
}

pub fn t<P: Phrase>(lang: Lang, text: P) -> &'static str {
    text.in_lang(lang)
}

/// Every `Text` in one language, in order: the file a browser loads for that language (a JSON
/// array of strings, written by `sspr-texts` at build time).
#[cfg(not(target_family = "wasm"))]
pub fn texts_file(lang: Lang) -> String {
    let mut out = String::from("[");
    for (i, text) in Text::ALL.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in text.in_lang(lang).chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}

/// The texts the browser has loaded, by language: each is installed once, from its file, before
/// anything in that language is shown (the pages wait for the first; a switch waits for its own).
/// Natively nothing reads them: the texts are compiled in.
pub mod loaded {
    use std::sync::OnceLock;

    use super::{Lang, Text};

    static TEXTS: [OnceLock<Box<[&'static str]>>; Lang::ALL.len()] =
        [const { OnceLock::new() }; Lang::ALL.len()];

    /// The file held a different number of texts than this build has.
    #[derive(Debug, thiserror::Error)]
    #[error("the texts file has {found} texts, this build {expected}")]
    pub struct WrongTexts {
        pub found: usize,
        pub expected: usize,
    }

    pub fn is_installed(lang: Lang) -> bool {
        TEXTS[lang as usize].get().is_some()
    }

    /// Keeps `texts` for the rest of the page's life (they are read as `&'static str`, and a
    /// language is installed at most once).
    pub fn install(lang: Lang, texts: Vec<String>) -> Result<(), WrongTexts> {
        // Two loads of one language that overlapped: the first one's texts stay, nothing is
        // kept twice.
        if is_installed(lang) {
            return Ok(());
        }
        if texts.len() != Text::ALL.len() {
            return Err(WrongTexts {
                found: texts.len(),
                expected: Text::ALL.len(),
            });
        }
        let texts = texts
            .into_iter()
            .map(|t| &*Box::leak(t.into_boxed_str()))
            .collect();
        let _ = TEXTS[lang as usize].set(texts);
        Ok(())
    }

    /// A text not loaded (yet) is empty: the pages are only shown once their language is in.
    #[cfg(target_family = "wasm")]
    pub(super) fn text(lang: Lang, index: usize) -> &'static str {
        TEXTS[lang as usize]
            .get()
            .and_then(|texts| texts.get(index))
            .copied()
            .unwrap_or_default()
    }
}

// What the pages say (and the server's error messages).
texts! {
    Text, loaded in the browser;
    ProductName => "Password self-service", "Wachtwoord-selfservice";
    ResetTitle => "Reset your password", "Stel je wachtwoord opnieuw in";
    ResetIntro => "Forgot your password or locked out? Verify who you are and choose a new one.",
                  "Wachtwoord vergeten of account geblokkeerd? Bevestig wie je bent en kies een nieuw wachtwoord.";
    ModeReset => "Forgot password", "Wachtwoord vergeten";
    ModeUnlock => "Unlock account", "Account deblokkeren";
    ModeChange => "Change password", "Wachtwoord wijzigen";
    ChangeTitle => "Change your password", "Wijzig je wachtwoord";
    ChangeIntro => "You know your current password and want a new one.", "Je kent je huidige wachtwoord en wilt een nieuw wachtwoord.";
    CurrentPasswordLabel => "Current password", "Huidig wachtwoord";
    ChangePassword => "Change password", "Wachtwoord wijzigen";
    Changing => "Changing your password in your organisation's directory…", "Je wachtwoord wordt gewijzigd in het accountsysteem van je organisatie…";
    ChangedTitle => "Your password has been changed", "Je wachtwoord is gewijzigd";
    // A soft hyphen: at phone width the long Dutch word breaks where a reader expects it.
    ModeRegister => "My verification methods", "Mijn verificatie\u{ad}methoden";
    RegisterTitle => "Your verification methods", "Je verificatiemethoden";
    RegisterIntro => "Sign in with your current password to see and change how you can prove it's you when you forget your password.",
                     "Meld je aan met je huidige wachtwoord om te zien en te wijzigen hoe je kunt bewijzen wie je bent als je je wachtwoord vergeet.";
    PasswordLabel => "Password", "Wachtwoord";
    SignInButton => "Sign in", "Aanmelden";
    SigningIn => "Checking your password with your organisation's directory…", "Je wachtwoord wordt gecontroleerd bij het accountsysteem van je organisatie…";
    RegisterSignedIn => "Signed in as {name}. Your account's own mail address, {mail}, is always one of your methods.",
                        "Aangemeld als {name}. Het eigen mailadres van je account, {mail}, is altijd een van je methoden.";
    SlotFromDirectory => "From your organisation's directory", "Uit het accountsysteem van je organisatie";
    SlotFromYou => "Registered by you", "Door jou geregistreerd";
    SlotNotSet => "Not set up", "Niet ingesteld";
    AddMethod => "Add", "Toevoegen";
    ReplaceMethod => "Replace", "Vervangen";
    RemoveMethod => "Remove", "Verwijderen";
    SetUpMethod => "Set up", "Instellen";
    PhoneValueLabel => "Phone number, with country code if abroad", "Telefoonnummer, met landcode als het een buitenlands nummer is";
    MailValueLabel => "Email address", "E-mailadres";
    SendCodeButton => "Send a code", "Stuur een code";
    ConfirmCodeButton => "Confirm", "Bevestigen";
    AuthenticatorScan => "Scan this code with your authenticator app, then type the code it shows.",
                         "Scan deze code met je authenticator-app en typ dan de code die hij toont.";
    AuthenticatorQrAlt => "QR code for your authenticator app", "QR-code voor je authenticator-app";
    AuthenticatorSecretLabel => "Cannot scan? Type this key in the app:", "Lukt scannen niet? Typ deze sleutel in de app:";
    MethodSaved => "Saved. Your other addresses get a message about this change.", "Opgeslagen. Je andere adressen krijgen een bericht over deze wijziging.";
    MethodRemoved => "Removed. Your other addresses get a message about this change.", "Verwijderd. Je andere adressen krijgen een bericht over deze wijziging.";
    MethodRemovedDirectoryKept => "Removed. What your organisation has on file, {dest}, is used again.", "Verwijderd. Wat je organisatie van je heeft vastgelegd, {dest}, wordt weer gebruikt.";
    Saving => "Saving…", "Opslaan…";
    ModeLabel => "What do you want to do?", "Wat wil je doen?";
    UnlockTitle => "Unlock your account", "Deblokkeer je account";
    UnlockIntro => "Locked out after too many attempts? Verify who you are and your account is unlocked. Your password stays the same.",
                   "Buitengesloten na te veel pogingen? Bevestig wie je bent en je account wordt gedeblokkeerd. Je wachtwoord blijft hetzelfde.";
    Unlocking => "Unlocking your account…", "Je account wordt gedeblokkeerd…";
    UnlockedTitle => "Your account is unlocked", "Je account is gedeblokkeerd";
    UnlockedBody => "You can sign in with your current password again.", "Je kunt weer aanmelden met je huidige wachtwoord.";
    NotLockedTitle => "Your account was not locked", "Je account was niet geblokkeerd";
    NotLockedBody => "Nothing needed unlocking, so nothing changed. If your password is refused when you sign in, you may have forgotten it: reset it instead.",
                     "Er hoefde niets gedeblokkeerd te worden, dus er is niets veranderd. Wordt je wachtwoord geweigerd bij het aanmelden, dan ben je het misschien vergeten: stel dan een nieuw wachtwoord in.";
    ResetInstead => "Reset my password", "Nieuw wachtwoord instellen";
    LanguageLabel => "Language", "Taal";
    StepAccount => "Account", "Account";
    StepVerify => "Verify", "Verificatie";
    StepNewPassword => "New password", "Nieuw wachtwoord";
    StepOf => "Step {n} of {total}", "Stap {n} van {total}";
    UsernameLabel => "User ID", "Gebruikers-ID";
    UsernameHint => "Your work sign-in name, for example jan@corp.example.test or CORP\\jan.",
                    "Je gebruikersnaam op het werk, bijvoorbeeld jan@corp.example.test of CORP\\jan.";
    UsernameRequired => "Enter your user ID.", "Vul je gebruikers-ID in.";
    Continue => "Continue", "Doorgaan";
    Cancel => "Start over", "Opnieuw beginnen";
    CaptchaWorking => "Checking that you are a person… {pct}%", "Controleren of je een persoon bent… {pct}%";
    CaptchaNote => "Instead of a picture puzzle, your browser does a short computation. Nothing to click.",
                   "In plaats van een plaatjespuzzel doet je browser een korte berekening. Je hoeft niets aan te klikken.";
    CodeSending => "Sending your code…", "Je code wordt verstuurd…";
    AccountFinding => "Finding your account…", "Je account wordt opgezocht…";
    CodeSentTo => "We sent a code to {dest}. It has {n} digits.", "We hebben een code gestuurd naar {dest}. De code heeft {n} cijfers.";
    CodeLabel => "Verification code", "Verificatiecode";
    CodeHint => "The code is valid for {min} minutes. Check your spam folder if it does not arrive.",
                "De code is {min} minuten geldig. Kijk ook in je spammap als hij niet aankomt.";
    CodeHintPhone => "The code is valid for {min} minutes.", "De code is {min} minuten geldig.";
    CodeLength => "The code has {n} digits.", "De code heeft {n} cijfers.";
    CallAgain => "Call me again", "Bel me opnieuw";
    ResendWait => "A new code can be sent from {time}.", "Een nieuwe code kan vanaf {time} worden verstuurd.";
    CodeRequired => "Enter the code from the message.", "Vul de code uit het bericht in.";
    AppCodeRequired => "Enter the code your app shows.", "Vul de code in die je app toont.";
    Verify => "Verify", "Controleren";
    Verifying => "Checking the code…", "Code controleren…";
    ResendCode => "Send a new code", "Stuur een nieuwe code";
    CodeResent => "A new code is on its way. The previous code no longer works.",
                  "Er is een nieuwe code onderweg. De vorige code werkt niet meer.";
    NewPasswordLabel => "New password", "Nieuw wachtwoord";
    ConfirmPasswordLabel => "Confirm new password", "Bevestig nieuw wachtwoord";
    ShowPassword => "Show", "Tonen";
    HidePassword => "Hide", "Verbergen";
    ShowPasswordLabel => "Show password", "Wachtwoord tonen";
    HidePasswordLabel => "Hide password", "Wachtwoord verbergen";
    RulesHeading => "Your new password must meet these rules:", "Je nieuwe wachtwoord moet aan deze regels voldoen:";
    RuleMinLength => "At least {n} characters", "Minstens {n} tekens";
    RuleComplexity => "Three of these four: uppercase letter, lowercase letter, digit, symbol",
                      "Drie van deze vier: hoofdletter, kleine letter, cijfer, symbool";
    RuleNotAccountName => "Does not contain your account name or parts of your full name",
                          "Bevat niet je accountnaam of delen van je volledige naam";
    RuleNotAccountNameOnSubmit => "Does not contain your account name or parts of your full name (your full name is checked when you submit)",
                                  "Bevat niet je accountnaam of delen van je volledige naam (je volledige naam wordt gecontroleerd als je op de knop drukt)";
    RuleConfirmMatches => "Both entries match", "Beide wachtwoorden zijn gelijk";
    RuleHistory => "Is not one of your last {n} passwords (checked when you submit)",
                   "Mag niet een van je laatste {n} wachtwoorden zijn (gecontroleerd als je op de knop drukt)";
    RulesHeadingOther => "The new password must meet the account's rules:", "Het nieuwe wachtwoord moet aan de regels van het account voldoen:";
    RuleHistoryOther => "The directory may also refuse one of the user's last {n} passwords when you submit.",
                        "Het accountsysteem kan bij opslaan ook een van de laatste {n} wachtwoorden van de gebruiker weigeren.";
    RuleMet => "met", "voldaan";
    RuleNotMet => "not met", "niet voldaan";
    StrengthLabel => "Strength", "Sterkte";
    Strength0 => "Very weak", "Zeer zwak";
    Strength1 => "Weak", "Zwak";
    Strength2 => "Fair", "Redelijk";
    Strength3 => "Good", "Goed";
    Strength4 => "Strong", "Sterk";
    SetPassword => "Set new password", "Nieuw wachtwoord instellen";
    Writing => "Saving your new password in your organisation's directory…",
               "Je nieuwe wachtwoord wordt opgeslagen in het accountsysteem van je organisatie…";
    SealNote => "Your new password is encrypted in this browser for your organisation's directory. This portal cannot read it.",
                "Je nieuwe wachtwoord wordt in deze browser versleuteld voor het accountsysteem van je organisatie. Deze portal kan het niet lezen.";
    DoneTitle => "Your password has been reset", "Je wachtwoord is opnieuw ingesteld";
    DoneBody => "You can sign in with your new password now.", "Je kunt nu aanmelden met je nieuwe wachtwoord.";
    BackToStart => "Back to the start", "Terug naar het begin";
    CancelSetUp => "Cancel", "Annuleren";
    SignOut => "Sign out", "Afmelden";
    SignedOut => "You are signed out.", "Je bent afgemeld.";
    MissingRules => "Your new password does not meet all the rules yet.", "Je nieuwe wachtwoord voldoet nog niet aan alle regels.";
    MissingConfirm => "Type the new password a second time, exactly the same.", "Typ het nieuwe wachtwoord nog een keer, precies hetzelfde.";
    MissingCurrent => "Type your current password.", "Typ je huidige wachtwoord.";
    PhoneValueRequired => "Type the phone number first.", "Typ eerst het telefoonnummer.";
    MailValueRequired => "Type the mail address first.", "Typ eerst het mailadres.";
    UnavailableTitle => "Password reset is unavailable right now", "Wachtwoord opnieuw instellen is nu niet beschikbaar";
    UnavailableBody => "We cannot reach your organisation's directory at the moment, so no password can be changed. Please try again later or contact your helpdesk.",
                       "We kunnen het accountsysteem van je organisatie op dit moment niet bereiken, dus er kan geen wachtwoord worden gewijzigd. Probeer het later opnieuw of neem contact op met je helpdesk.";
    HelpFooter => "Trouble? Contact your helpdesk.", "Lukt het niet? Neem contact op met je helpdesk.";
    HelpFooterLead => "Trouble? Contact your helpdesk:", "Lukt het niet? Neem contact op met je helpdesk:";
    HelpWebsite => "Helpdesk website", "Website van de helpdesk";
    ErrInvalidUsername => "A user ID cannot contain \" / [ ] : ; | = , + * ? < >. Check what you typed.",
                          "Een gebruikers-ID kan geen \" / [ ] : ; | = , + * ? < > bevatten. Controleer wat je hebt getypt.";
    ErrBadRequest => "The request was not understood. Reload the page and try again.",
                     "Het verzoek werd niet begrepen. Laad de pagina opnieuw en probeer het nog eens.";
    ErrPayloadTooLarge => "The request was too large.", "Het verzoek was te groot.";
    ErrUnknownFlow => "This session has expired. Please start again.", "Deze sessie is verlopen. Begin opnieuw.";
    ErrLinkSpent => "This link was already used or has expired. Ask your service desk for a new one, or reset your password here.",
                    "Deze link is al gebruikt of verlopen. Vraag je servicedesk om een nieuwe, of stel je wachtwoord hier opnieuw in.";
    ErrWrongStep => "This step was already completed. Continue from where you are.",
                    "Deze stap is al afgerond. Ga verder waar je bent.";
    ErrCaptchaFailed => "The human check did not succeed. Please try again.", "De menscontrole is niet gelukt. Probeer het opnieuw.";
    ErrWrongCode => "That code is not correct.", "Die code klopt niet.";
    ErrAttemptsLeft => "{n} attempts left.", "Nog {n} pogingen.";
    ErrCodeExpired => "This code has expired. Ask for a new one.", "Deze code is verlopen. Vraag een nieuwe aan.";
    ErrCodeExhausted => "Too many wrong codes. Ask for a new code.", "Te veel foute codes. Vraag een nieuwe code aan.";
    ErrTooManyRequests => "Too many attempts. Try again at {time}.", "Te veel pogingen. Probeer het opnieuw om {time}.";
    ErrPhoneMismatch => "That number does not match the one on file. Nothing was sent.",
                        "Dat nummer komt niet overeen met het geregistreerde nummer. Er is niets verstuurd.";
    ErrSendFailed => "We could not send the code. Try another method.", "We konden de code niet versturen. Probeer een andere methode.";
    ErrCodeReused => "This code was already used. Wait for the next code in your app.",
                     "Deze code is al gebruikt. Wacht op de volgende code in je app.";
    ErrMethodUnavailable => "That method is not available for this step. Choose another one.",
                            "Die methode is niet beschikbaar voor deze stap. Kies een andere.";
    ErrSignInFailed => "The user ID or password is not correct, or the account is locked.",
                       "De gebruikers-ID of het wachtwoord klopt niet, of het account is geblokkeerd.";
    ErrTargetOffLimits => "The helpdesk cannot act on this account: it is protected, a member of a protected group, or staff. Ask a domain administrator.",
                          "De servicedesk kan niets doen met dit account: het is beschermd, lid van een beschermde groep, of van een medewerker. Vraag het een domeinbeheerder.";
    ErrCallerNotVerified => "Verify the caller first: send a code to one of their methods and type in what they read back.",
                            "Controleer eerst de beller: stuur een code naar een van hun methoden en typ in wat ze voorlezen.";
    ErrSessionEnded => "Your session has ended. Sign in again.",
                       "Je sessie is afgelopen. Meld je opnieuw aan.";
    ErrForgedRequest => "This request did not come from the console's own page, so it was refused. Reload the console and try again.",
                        "Dit verzoek kwam niet van de eigen pagina van de console en is geweigerd. Laad de console opnieuw en probeer het nog eens.";
    ErrStaffFactorMissing => "You have no second factor of your own yet. Register an authenticator app under \"My verification methods\" first.",
                             "Je hebt nog geen eigen tweede factor. Registreer eerst een authenticator-app onder \"Mijn verificatiemethoden\".";
    ErrInvalidContact => "That is not a phone number or mail address we can send a code to.",
                         "Dat is geen telefoonnummer of mailadres waar we een code naartoe kunnen sturen.";
    ErrWritebackUnavailable => "Password reset is unavailable right now because your organisation's directory cannot be reached. Try again later.",
                               "Wachtwoord opnieuw instellen is nu niet mogelijk omdat het accountsysteem van je organisatie niet bereikbaar is. Probeer het later opnieuw.";
    ErrAgentTimeout => "Your organisation's directory did not confirm the change in time. Try signing in with the new password; if that does not work, try again.",
                       "Het accountsysteem van je organisatie heeft de wijziging niet op tijd bevestigd. Probeer aan te melden met het nieuwe wachtwoord; lukt dat niet, probeer het dan opnieuw.";
    ErrPasswordTooShort => "Your organisation's directory refused this password: it is too short.",
                           "Je organisatie accepteert dit wachtwoord niet: het is te kort.";
    ErrPasswordComplexity => "Your organisation's directory refused this password: it is not complex enough. Mix uppercase, lowercase, digits and symbols, and leave out your name.",
                             "Je organisatie accepteert dit wachtwoord niet: het is niet complex genoeg. Combineer hoofdletters, kleine letters, cijfers en symbolen, en laat je naam weg.";
    ErrPasswordContainsName => "Your organisation does not accept this password: it contains your account name or a part of your full name.",
                               "Je organisatie accepteert dit wachtwoord niet: het bevat je accountnaam of een deel van je volledige naam.";
    ErrPasswordHistory => "You used this password before. Choose one you have not used recently.",
                          "Je hebt dit wachtwoord al eerder gebruikt. Kies er een dat je niet recent hebt gebruikt.";
    ErrPasswordTooYoung => "Your password was changed too recently to change it again. Try again later.",
                           "Je wachtwoord is te kort geleden gewijzigd om het nu weer te wijzigen. Probeer het later opnieuw.";
    ErrPasswordRejected => "Your organisation's directory refused this password. Choose another one.",
                           "Je organisatie accepteert dit wachtwoord niet. Kies een ander wachtwoord.";
    ErrCurrentPasswordWrong => "The user ID or current password is not correct, or the account is locked (then unlock it first).",
                               "De gebruikers-ID of het huidige wachtwoord klopt niet, of het account is geblokkeerd (deblokkeer het dan eerst).";
    ErrAccountLocked => "Your account is locked. Unlock it first, or wait until the lock expires.",
                        "Je account is geblokkeerd. Hef de blokkering eerst op, of wacht tot die verloopt.";
    ErrSealRejected => "The encrypted password could not be delivered. Reload the page and try again.",
                       "Het versleutelde wachtwoord kon niet worden afgeleverd. Laad de pagina opnieuw en probeer het nog eens.";
    ErrSealNeedsHttps => "This browser cannot encrypt your password on this address. Open the portal by its https:// address and try again.",
                         "Deze browser kan je wachtwoord op dit adres niet versleutelen. Open de portal via het https://-adres en probeer het opnieuw.";
    ErrPasswordTooLong => "This password is longer than the directory accepts. Choose a shorter one.",
                          "Dit wachtwoord is langer dan je organisatie toestaat. Kies een korter wachtwoord.";
    ErrUnknownDomain => "The domain in your user ID is not one this portal serves. Check it, or type just your user name.",
                        "Het domein in je gebruikers-ID hoort niet bij deze portal. Controleer het, of typ alleen je gebruikersnaam.";
    ErrDirectoryNeeded => "Your organisation has more than one domain. Choose yours, or type your user ID as name@domain or DOMAIN\\name.",
                          "Je organisatie heeft meer dan één domein. Kies het jouwe, of typ je gebruikers-ID als naam@domein of DOMEIN\\naam.";
    DomainLabel => "Domain", "Domein";
    DomainFromUserId => "As in my user ID", "Zoals in mijn gebruikers-ID";
    ErrAgentChanged => "The connection to your organisation's network moved while you were typing, so your password was not changed yet. Press the button again: your password is still filled in.",
                       "De verbinding met het netwerk van je organisatie is gewisseld terwijl je typte; je wachtwoord is daarom nog niet gewijzigd. Druk nog eens op de knop: je wachtwoord staat er nog.";
    ErrAccountNotEligible => "The password of this account cannot be reset here. Contact your helpdesk.",
                             "Het wachtwoord van dit account kan hier niet opnieuw worden ingesteld. Neem contact op met je helpdesk.";
    ErrDirectoryAccessDenied => "The portal is not allowed to change this password in the directory. Contact your helpdesk.",
                                "De portal mag dit wachtwoord niet wijzigen in het accountsysteem. Neem contact op met je helpdesk.";
    ErrDirectoryUnreachable => "The directory server could not be reached. Your password was not changed; try again later.",
                               "De server van het accountsysteem was niet bereikbaar. Je wachtwoord is niet gewijzigd; probeer het later opnieuw.";
    ErrOperationNotAllowed => "Your organisation has not enabled this for your account's directory. Contact your helpdesk.",
                              "Je organisatie heeft dit niet ingeschakeld voor de directory van je account. Neem contact op met je helpdesk.";
    ErrInternal => "Something went wrong on our side. Your password was not changed; please try again.",
                   "Er ging iets mis aan onze kant. Je wachtwoord is niet gewijzigd; probeer het opnieuw.";
    ErrInvalidToken => "This token or agent credential is unknown, already used or expired.",
                       "Dit token of deze agentsleutel is onbekend, al gebruikt of verlopen.";
    ErrLanguageUnavailable => "That language could not be loaded. Reload the page to try again.",
                              "Die taal kon niet worden geladen. Laad de pagina opnieuw om het nog eens te proberen.";
    ErrNetwork => "The portal could not be reached. Check your connection and try again.",
                  "De portal was niet bereikbaar. Controleer je verbinding en probeer het opnieuw.";
    GateTitle => "Verify your identity", "Bevestig wie je bent";
    GateOfTwo => "Check {n} of {of}: choose how to verify.", "Controle {n} van {of}: kies hoe je dit bevestigt.";
    GateOne => "Choose how to verify that it is you.", "Kies hoe je bevestigt dat jij het bent.";
    GateSecond => "Choose a different method for the second check.", "Kies voor de tweede controle een andere methode.";
    GateNoMethods => "No other method is registered for this account. Contact your helpdesk.",
                     "Er is geen andere methode geregistreerd voor dit account. Neem contact op met je helpdesk.";
    MethodMail => "Email a code to {dest}", "Mail een code naar {dest}";
    MethodMobileText => "Text a code to {dest}", "Sms een code naar {dest}";
    MethodMobileCall => "Call {dest}", "Bel {dest}";
    MethodOfficeCall => "Call office phone {dest}", "Bel kantoortelefoon {dest}";
    MethodAuthenticator => "Enter a code from my authenticator app", "Een code uit mijn authenticator-app invullen";
    QuestionFirstPet => "What was the name of your first pet?", "Hoe heette je eerste huisdier?";
    QuestionBirthCity => "In which city were you born?", "In welke plaats ben je geboren?";
    QuestionFirstSchool => "What was the name of your primary school?", "Hoe heette je basisschool?";
    QuestionChildhoodFriend => "What was the first name of your best childhood friend?", "Wat was de voornaam van je beste jeugdvriend(in)?";
    QuestionFirstConcert => "Which artist did you see at your first concert?", "Welke artiest zag je bij je eerste concert?";
    QuestionGrandmotherName => "What is your grandmother's first name?", "Wat is de voornaam van je oma?";
    CaptchaPictureAlt => "Six digits, distorted. Use the audio below if you cannot read them.",
                         "Zes vervormde cijfers. Gebruik de audio hieronder als je ze niet kunt lezen.";
    CaptchaAudioLabel => "The six digits spoken", "De zes cijfers uitgesproken";
    CaptchaPictureLabel => "Type the six digits you see or hear", "Typ de zes cijfers die je ziet of hoort";
    ErrCaptchaPictureWrong => "Those were not the digits. Here is a new picture: type its six digits.",
                              "Dat waren niet de cijfers. Hier is een nieuw plaatje: typ de zes cijfers.";
    CaptchaWidget => "Complete the check below to continue.", "Voltooi de controle hieronder om verder te gaan.";
    QuestionsPrompt => "Answer your security questions.", "Beantwoord je beveiligingsvragen.";
    QuestionsSetUpHint => "Choose {n} different questions whose answers only you know and will remember. Case and punctuation do not matter.",
                         "Kies {n} verschillende vragen waarvan alleen jij het antwoord weet en onthoudt. Hoofdletters en leestekens maken niet uit.";
    QuestionLabel => "Question {n}", "Vraag {n}";
    AnswerLabel => "Answer", "Antwoord";
    AnswerRequired => "Type your answer to this question.", "Typ je antwoord op deze vraag.";
    SlotQuestions => "Security questions", "Beveiligingsvragen";
    SaveButton => "Save", "Opslaan";
    ErrAnswersWrong => "One or more answers are not correct.", "Een of meer antwoorden kloppen niet.";
    ErrQuestionsInvalid => "Choose different questions, and give each an answer of at least 3 letters or digits.",
                           "Kies verschillende vragen en geef elk een antwoord van minstens 3 letters of cijfers.";
    MethodQuestions => "Answer my security questions", "Mijn beveiligingsvragen beantwoorden";
    PhoneConfirmLabel => "Type the whole number {dest} to confirm it", "Typ het hele nummer {dest} ter bevestiging";
    PhoneConfirmHint => "We only send when it matches, so nobody can make someone else's phone ring.",
                        "We versturen alleen als het klopt, zodat niemand berichten of oproepen naar andermans telefoon kan laten sturen.";
    PhoneRequired => "Type the whole phone number.", "Typ het hele telefoonnummer.";
    TextSentTo => "We texted a code to {dest}. It has {n} digits.", "We hebben een code ge-sms't naar {dest}. De code heeft {n} cijfers.";
    CallingTo => "We are calling {dest}. Type the {n} digits you hear.", "We bellen {dest}. Typ de {n} cijfers die je hoort.";
    AuthenticatorPrompt => "Open your authenticator app and type the {n}-digit code it shows now.",
                           "Open je authenticator-app en typ de code van {n} cijfers die hij nu toont.";
    OtherMethod => "Use another method", "Een andere methode gebruiken";
    SlotMobile => "Mobile phone", "Mobiele telefoon";
    SlotOfficePhone => "Office phone", "Kantoortelefoon";
    SlotAltMail => "Alternate email", "Alternatief e-mailadres";
    SlotAuthenticator => "Authenticator app", "Authenticator-app";
}

// What the helpdesk staff console says: only the console carries these, so the public portal's
// WASM does not grow with them.
texts! {
    ConsoleText;
    ConsoleTitle => "Service desk console", "Servicedesk-console";
    SignedInAs => "Signed in as {name}", "Aangemeld als {name}";
    SignOut => "Sign out", "Afmelden";
    SignedOut => "You are signed out.", "Je bent afgemeld.";
    SignInTitle => "Service desk sign-in", "Aanmelden bij de servicedesk";
    SignInIntro => "Sign in with your own account. Only members of the service desk get in, with their own second factor.",
                   "Meld je aan met je eigen account. Alleen medewerkers van de servicedesk komen binnen, met hun eigen tweede factor.";
    FactorTitle => "Second factor", "Tweede factor";
    FactorIntro => "Confirm it is you with your own second factor.", "Bevestig met je eigen tweede factor dat jij het bent.";
    FactorLegend => "How do you want to confirm?", "Hoe wil je dit bevestigen?";
    FactorAuthenticator => "A code from my authenticator app", "Een code uit mijn authenticator-app";
    FactorMail => "A code by mail to {dest}", "Een code per mail naar {dest}";
    FactorSent => "We sent a code to {dest}.", "We hebben een code gestuurd naar {dest}.";
    FactorCodeRequired => "Enter the code.", "Vul de code in.";
    SearchLabel => "Find an account", "Zoek een account";
    SearchHint => "Name, user ID or mail address: at least the first 2 characters. Press Enter to search.",
                  "Naam, gebruikers-ID of mailadres: minstens de eerste 2 tekens. Druk op Enter om te zoeken.";
    SearchButton => "Search", "Zoeken";
    Searching => "Searching…", "Zoeken…";
    SearchTooShort => "Type at least {n} characters.", "Typ minstens {n} tekens.";
    NoMatch => "No account matches “{query}”.", "Geen account komt overeen met ‘{query}’.";
    Matches => "Accounts found: {n}", "Gevonden accounts: {n}";
    MoreMatches => "More accounts match: type more to narrow the search down.", "Er zijn meer accounts gevonden: typ meer om de zoekopdracht te verfijnen.";
    ResultsTitle => "Search results", "Zoekresultaten";
    PickAccount => "Search for the caller's account and pick it from the list.", "Zoek het account van de beller en kies het uit de lijst.";
    Enabled => "Enabled", "Actief";
    Disabled => "Disabled", "Uitgeschakeld";
    Locked => "Locked", "Geblokkeerd";
    NotLocked => "Not locked", "Niet geblokkeerd";
    LockedSince => "Locked since {time}", "Geblokkeerd sinds {time}";
    LoadingAccount => "Loading the account…", "Account laden…";
    Yes => "Yes", "Ja";
    No => "No", "Nee";
    NotSet => "Not set", "Niet ingesteld";
    AwaitingOwn => "Waiting for the user to choose one at the next sign-in", "Wacht tot de gebruiker er een kiest bij de volgende aanmelding";
    Never => "Never", "Nooit";
    StateTitle => "State", "Status";
    StateAccount => "Account", "Account";
    StateLockout => "Lockout", "Blokkering";
    StatePasswordSet => "Password last set", "Wachtwoord laatst ingesteld";
    StatePasswordExpires => "Password expires", "Wachtwoord verloopt";
    StateMustChange => "Must change password at next sign-in", "Moet wachtwoord wijzigen bij volgende aanmelding";
    StateBadPasswords => "Wrong passwords in a row", "Foute wachtwoorden op rij";
    StateGroups => "Groups", "Groepen";
    OffLimitsTitle => "The service desk may not act on this account", "De servicedesk mag niets doen met dit account";
    OffLimitsProtected => "It is a protected account (adminCount=1). Ask a domain administrator.",
                          "Het is een beschermd account (adminCount=1). Vraag het een domeinbeheerder.";
    OffLimitsProtectedGroup => "It is a member of a protected group. Ask a domain administrator.",
                               "Het is lid van een beschermde groep. Vraag het een domeinbeheerder.";
    OffLimitsStaff => "It belongs to a member of the service desk: staff never act on each other. Ask a domain administrator.",
                      "Het is van een medewerker van de servicedesk: medewerkers helpen elkaar hier niet. Vraag het een domeinbeheerder.";
    MethodsTitle => "Verification methods", "Verificatiemethoden";
    PrimaryMail => "Account mail", "Mailadres van het account";
    FromDirectory => "From the directory", "Uit de directory";
    FromUser => "Registered by the user", "Door de gebruiker geregistreerd";
    NotSetUp => "Not set up", "Niet ingesteld";
    RecentTitle => "Recent events", "Recente gebeurtenissen";
    RecentNone => "No recent events.", "Geen recente gebeurtenissen.";
    RecentTime => "Time", "Tijd";
    RecentEvent => "Event", "Gebeurtenis";
    RecentActor => "By", "Door";
    EventResetSucceeded => "Password reset (self-service)", "Wachtwoord opnieuw ingesteld (selfservice)";
    EventResetRefused => "Password reset refused", "Wachtwoord opnieuw instellen geweigerd";
    EventUnlockSucceeded => "Account unlocked", "Account gedeblokkeerd";
    EventUnlockRefused => "Unlock refused", "Deblokkeren geweigerd";
    EventChangeSucceeded => "Password changed", "Wachtwoord gewijzigd";
    EventChangeRefused => "Password change refused", "Wachtwoord wijzigen geweigerd";
    EventStaffReset => "Password reset by the service desk", "Wachtwoord opnieuw ingesteld door de servicedesk";
    EventStaffUnlock => "Unlocked by the service desk", "Gedeblokkeerd door de servicedesk";
    EventStaffLinkSent => "One-time reset link sent by the service desk", "Eenmalige resetlink verstuurd door de servicedesk";
    EventStaffRevoked => "Verification method removed by the service desk", "Verificatiemethode verwijderd door de servicedesk";
    EventCallerVerified => "Caller verified", "Beller gecontroleerd";
    EventStaffRefused => "Service desk action refused", "Actie van de servicedesk geweigerd";
    EventMethodAdded => "Verification method added", "Verificatiemethode toegevoegd";
    EventMethodRemoved => "Verification method removed", "Verificatiemethode verwijderd";
    EventCodeSent => "Code sent", "Code verstuurd";
    EventGuessFailed => "Wrong code or answer", "Foute code of fout antwoord";
    EventRegisterSignIn => "Signed in to manage methods", "Aangemeld om methoden te beheren";
    CallerTitle => "Verify the caller", "Controleer de beller";
    CallerLegend => "How does the caller prove who they are?", "Hoe bewijst de beller wie hij of zij is?";
    CallerMail => "Code by mail to the account's address", "Code per mail naar het adres van het account";
    CallerAltMail => "Code to the alternate address", "Code naar het alternatieve adres";
    CallerMobileText => "Code by text to the mobile", "Code per sms naar de mobiel";
    CallerAuthenticator => "Code from their authenticator app", "Code uit de authenticator-app";
    CallerNoMethod => "This user has no method to verify them with. Ask them to come to the service desk in person.",
                      "Deze gebruiker heeft geen methode om mee te controleren. Vraag hem of haar langs te komen bij de servicedesk.";
    CallerAppHint => "Ask the caller for the code their authenticator app shows now.", "Vraag de beller om de code die de authenticator-app nu toont.";
    SendingCode => "Sending the code…", "Code versturen…";
    CallerSent => "Code sent to {dest}. Ask the caller to read it out.", "Code gestuurd naar {dest}. Vraag de beller de code voor te lezen.";
    CallerCodeLabel => "Code the caller reads out", "Code die de beller voorleest";
    CallerCodeRequired => "Type the code the caller reads out.", "Typ de code die de beller voorleest.";
    CallerVerified => "Caller verified ({method}).", "Beller gecontroleerd ({method}).";
    VerifiedByMail => "mail", "mail";
    VerifiedByAltMail => "alternate mail", "alternatief mailadres";
    VerifiedByText => "text message", "sms";
    VerifiedByApp => "authenticator app", "authenticator-app";
    ActionsTitle => "Help the caller", "Help de beller";
    ResetTitle => "Reset the password", "Wachtwoord opnieuw instellen";
    GenerateButton => "Generate a password", "Wachtwoord genereren";
    GenerateFailed => "No password could be generated in this browser. Type one instead.",
                      "In deze browser kon geen wachtwoord worden gegenereerd. Typ er zelf een.";
    GeneratedHint => "Shown only now: tell the caller, then it is gone from this page after the reset.",
                     "Alleen nu zichtbaar: geef het door aan de beller; na het opnieuw instellen verdwijnt het van deze pagina.";
    CopyButton => "Copy", "Kopiëren";
    Copied => "Copied", "Gekopieerd";
    CopyFailed => "The browser did not allow copying. Select the password and copy it yourself.",
                  "De browser stond kopiëren niet toe. Selecteer het wachtwoord en kopieer het zelf.";
    MustChangeLabel => "Must change the password at next sign-in", "Moet het wachtwoord wijzigen bij de volgende aanmelding";
    AlsoUnlockLabel => "Also unlock the account", "Deblokkeer ook het account";
    TicketLabel => "Ticket (optional)", "Ticket (optioneel)";
    TicketHint => "The service desk ticket, kept in the audit log with what you do.", "Het ticket van de servicedesk, bewaard in het auditlog bij wat je doet.";
    SkipReasonLabel => "Why the caller was not verified", "Waarom de beller niet is gecontroleerd";
    SkipReasonHint => "Required to act without a caller check; kept in the audit log.", "Verplicht om zonder controle van de beller iets te doen; wordt bewaard in het auditlog.";
    ResetButton => "Reset password", "Wachtwoord opnieuw instellen";
    Resetting => "Resetting the password…", "Wachtwoord opnieuw instellen…";
    ResetDone => "The password of {name} was reset.", "Het wachtwoord van {name} is opnieuw ingesteld.";
    ResetDoneMustChange => "They must choose a new one at the next sign-in.", "Bij de volgende aanmelding moet een nieuw wachtwoord worden gekozen.";
    ResetDoneUnlocked => "The account is unlocked too.", "Het account is ook gedeblokkeerd.";
    UnlockTitle => "Unlock", "Deblokkeren";
    UnlockHint => "Lifts the lockout; the password stays the same.", "Heft de blokkering op; het wachtwoord blijft hetzelfde.";
    UnlockButton => "Unlock account", "Account deblokkeren";
    UnlockingAccount => "Unlocking the account…", "Account deblokkeren…";
    UnlockDone => "The account of {name} was unlocked.", "Het account van {name} is gedeblokkeerd.";
    UserNotified => "The user was notified by mail.", "De gebruiker is per mail op de hoogte gebracht.";
    UserNotNotified => "The account has no mail address, so the user was not notified.", "Het account heeft geen mailadres, dus de gebruiker is niet op de hoogte gebracht.";
    LinkTitle => "One-time reset link", "Eenmalige resetlink";
    LinkHint => "The user sets their own password through the link; staff never learn it.",
                "De gebruiker kiest via de link zelf een wachtwoord; de servicedesk krijgt het nooit te zien.";
    LinkLegend => "Send the link to", "Stuur de link naar";
    LinkToMail => "The account's address", "Het adres van het account";
    LinkToAltMail => "The alternate address", "Het alternatieve adres";
    LinkButton => "Send a one-time reset link", "Eenmalige resetlink sturen";
    SendingLink => "Sending the link…", "Link versturen…";
    LinkSent => "Link sent to {dest} — it works once, until {time}.", "Link verstuurd naar {dest} — hij werkt één keer, tot {time}.";
    RemoveButton => "Remove", "Verwijderen";
    ClearButton => "Clear registration", "Registratie wissen";
    ClearHint => "Clearing removes every method the user registered, so they must register again; what the directory holds stays.",
                 "Wissen verwijdert alle methoden die de gebruiker heeft geregistreerd, zodat opnieuw registreren nodig is; wat in de directory staat blijft.";
    ConfirmRemoval => "Confirm removal", "Verwijderen bevestigen";
    KeepButton => "Keep", "Behouden";
    RemoveConfirmHint => "Remove {method}? The user is told by mail.", "{method} verwijderen? De gebruiker krijgt hierover een mail.";
    ClearConfirmHint => "Remove every method the user registered? The user is told by mail.",
                        "Alle methoden verwijderen die de gebruiker heeft geregistreerd? De gebruiker krijgt hierover een mail.";
    Removing => "Removing…", "Verwijderen…";
    MethodRemoved => "{method} of {name} was removed.", "{method} van {name} is verwijderd.";
    RegistrationCleared => "The registration of {name} was cleared: they must register again.",
                           "De registratie van {name} is gewist: opnieuw registreren is nodig.";
}

// What mails, texts and calls say: only the server sends them, so the browser carries none.
texts! {
    Notice;
    MailCodeSubject => "Your verification code: {code}", "Je verificatiecode: {code}";
    MailCodeBody => "Hello,\n\nYour verification code to reset your password is:\n\n    {code}\n\nIt is valid for {min} minutes. Nobody from your organisation will ever ask you for this code.\nIf you did not ask to reset your password, you can ignore this message; nothing changes.\n",
                    "Hallo,\n\nJe verificatiecode om je wachtwoord opnieuw in te stellen is:\n\n    {code}\n\nDe code is {min} minuten geldig. Niemand van je organisatie zal je ooit om deze code vragen.\nHeb je niet gevraagd om je wachtwoord opnieuw in te stellen? Dan kun je dit bericht negeren; er verandert niets.\n";
    SmsCodeBody => "Your verification code is {code}. It is valid for {min} minutes. Never share it.",
                   "Je verificatiecode is {code}. De code is {min} minuten geldig. Deel hem met niemand.";
    VoiceCodeSpeech => "Hello. Your verification code is: {digits}. Once more: {digits}. Goodbye.",
                       "Hallo. Je verificatiecode is: {digits}. Nog een keer: {digits}. Tot ziens.";
    MailUnlockSubject => "Your account was unlocked", "Je account is gedeblokkeerd";
    MailUnlockBody => "Hello,\n\nYour account {account} was unlocked through the self-service portal at {time} (UTC). Your password did not change.\nIf this was not you, contact your helpdesk at once.\n",
                      "Hallo,\n\nJe account {account} is om {time} (UTC) gedeblokkeerd via de selfserviceportal. Je wachtwoord is niet gewijzigd.\nWas jij dit niet? Neem dan direct contact op met je helpdesk.\n";
    MailChangeSubject => "Your password was changed", "Je wachtwoord is gewijzigd";
    MailChangeBody => "Hello,\n\nThe password of your account {account} was changed through the self-service portal at {time} (UTC).\nIf this was not you, contact your helpdesk at once.\n",
                      "Hallo,\n\nHet wachtwoord van je account {account} is om {time} (UTC) gewijzigd via de selfserviceportal.\nWas jij dit niet? Neem dan direct contact op met je helpdesk.\n";
    MailMethodsSubject => "Your verification methods changed", "Je verificatiemethoden zijn gewijzigd";
    MailMethodsBody => "Hello,\n\nThe verification methods of your account {account} changed at {time} (UTC): {change}.\nThese methods let someone reset your password. If this was not you, contact your helpdesk at once.\n",
                       "Hallo,\n\nDe verificatiemethoden van je account {account} zijn om {time} (UTC) gewijzigd: {change}.\nMet deze methoden kan iemand je wachtwoord opnieuw instellen. Was jij dit niet? Neem dan direct contact op met je helpdesk.\n";
    ChangeAdded => "{method} added", "{method} toegevoegd";
    ChangeRemoved => "{method} removed", "{method} verwijderd";
    ChangeCleared => "every method you registered was removed by the service desk; register again under \"My verification methods\"",
                     "alle methoden die je had geregistreerd zijn door de servicedesk verwijderd; registreer opnieuw onder \"Mijn verificatiemethoden\"";
    MailResetSubject => "Your password was reset", "Je wachtwoord is opnieuw ingesteld";
    MailResetBody => "Hello,\n\nThe password of your account {account} was reset through the self-service portal at {time} (UTC).\nIf this was not you, contact your helpdesk at once.\n",
                     "Hallo,\n\nHet wachtwoord van je account {account} is om {time} (UTC) opnieuw ingesteld via de selfserviceportal.\nWas jij dit niet? Neem dan direct contact op met je helpdesk.\n";
    MailStaffResetSubject => "The service desk reset your password", "De servicedesk heeft je wachtwoord opnieuw ingesteld";
    MailStaffResetBody => "Hello,\n\nThe password of your account {account} was reset by the service desk at {time} (UTC).\nIf you did not ask for this, contact your helpdesk at once.\n",
                          "Hallo,\n\nHet wachtwoord van je account {account} is om {time} (UTC) opnieuw ingesteld door de servicedesk.\nHeb je hier niet om gevraagd? Neem dan direct contact op met je helpdesk.\n";
    MailLinkSubject => "Set a new password", "Stel een nieuw wachtwoord in";
    MailLinkBody => "Hello,\n\nThe service desk sent you this link to set a new password for your account {account}. It works once, until {time} (UTC):\n\n{link}\n\nIf you did not ask the service desk for this, do not open the link and tell your helpdesk.\n",
                    "Hallo,\n\nDe servicedesk stuurt je deze link om een nieuw wachtwoord in te stellen voor je account {account}. De link werkt één keer, tot {time} (UTC):\n\n{link}\n\nHeb je de servicedesk hier niet om gevraagd? Open de link dan niet en meld het bij je helpdesk.\n";
    MailStaffUnlockSubject => "The service desk unlocked your account", "De servicedesk heeft je account ontgrendeld";
    MailStaffUnlockBody => "Hello,\n\nYour account {account} was unlocked by the service desk at {time} (UTC).\nIf you did not ask for this, contact your helpdesk at once.\n",
                           "Hallo,\n\nJe account {account} is om {time} (UTC) ontgrendeld door de servicedesk.\nHeb je hier niet om gevraagd? Neem dan direct contact op met je helpdesk.\n";
}

/// A text with its `{name}` placeholders filled in.
pub fn tf<P: Phrase>(lang: Lang, text: P, args: &[(&str, &str)]) -> String {
    let mut out = t(lang, text).to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_with_the_same_placeholders() {
        let all = Text::ALL
            .iter()
            .map(|p| (format!("{p:?}"), t(Lang::En, *p), t(Lang::Nl, *p)))
            .chain(
                Notice::ALL
                    .iter()
                    .map(|p| (format!("{p:?}"), t(Lang::En, *p), t(Lang::Nl, *p))),
            )
            .chain(
                ConsoleText::ALL
                    .iter()
                    .map(|p| (format!("{p:?}"), t(Lang::En, *p), t(Lang::Nl, *p))),
            );
        for (text, en, nl) in all {
            assert!(!en.is_empty() && !nl.is_empty(), "{text:?}");
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split('}').next())
                    .map(String::from)
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(nl), "{text:?} placeholders differ");
        }
    }

    #[test]
    fn a_texts_file_holds_every_text_in_order_as_json() {
        for lang in Lang::ALL {
            let parsed: Vec<String> = serde_json::from_str(&texts_file(lang)).expect("valid JSON");
            let expected: Vec<&str> = Text::ALL.iter().map(|t| t.in_lang(lang)).collect();
            assert_eq!(parsed, expected);
        }
        // Quotes and backslashes ("DOMEIN\\naam") survive the trip.
        assert!(Text::ALL
            .iter()
            .any(|t| t.in_lang(Lang::Nl).contains('\\') || t.in_lang(Lang::Nl).contains('"')));
    }

    #[test]
    fn texts_of_another_build_are_refused_and_a_whole_set_is_taken() {
        let short = vec!["Wachtwoord".to_owned()];
        let refused = loaded::install(Lang::Nl, short).expect_err("one text is not all");
        assert_eq!((refused.found, refused.expected), (1, Text::ALL.len()));
        assert!(!loaded::is_installed(Lang::Nl));
        let all: Vec<String> = Text::ALL
            .iter()
            .map(|t| t.in_lang(Lang::Nl).to_owned())
            .collect();
        loaded::install(Lang::Nl, all).expect("every text");
        assert!(loaded::is_installed(Lang::Nl));
    }

    #[test]
    fn language_from_headers() {
        assert_eq!(Lang::from_tags("nl-BE,nl;q=0.9,en;q=0.8"), Lang::Nl);
        assert_eq!(Lang::from_tags("de-DE,en-US;q=0.7"), Lang::En);
        assert_eq!(Lang::from_tags(""), Lang::En);
        assert_eq!(
            tf(Lang::En, Text::RuleMinLength, &[("n", "8")]),
            "At least 8 characters"
        );
    }
}

//! The people of an organisation: the documented roles and what each may do, validated e-mail
//! addresses, users as stored, and their passwords (argon2id; hashing is CPU work, so callers
//! on an async runtime run it on a blocking thread).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::{Invalid, Timestamp};

/// SmartDocumentor's roles, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Administrator,
    Manager,
    Creator,
    Reviewer,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Administrator,
        Role::Manager,
        Role::Creator,
        Role::Reviewer,
        Role::Viewer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Manager => "Manager",
            Role::Creator => "Creator",
            Role::Reviewer => "Reviewer",
            Role::Viewer => "Viewer",
        }
    }

    /// A role by its name, in any case (the API's names are case-insensitive, as ASP.NET's).
    pub fn parse(name: &str) -> Result<Role, Invalid> {
        let name = name.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
                Invalid(format!(
                    "unknown role {name:?}; the roles are {}",
                    known.join(", ")
                ))
            })
    }

    /// Administrators and Managers see every workspace; others only those they are assigned to.
    pub fn sees_every_workspace(self) -> bool {
        matches!(self, Role::Administrator | Role::Manager)
    }

    /// Viewers only look.
    pub fn may_edit(self) -> bool {
        self != Role::Viewer
    }

    /// Administrators invite anyone; Managers anyone but an Administrator; others nobody.
    pub fn may_invite(self, role: Role) -> bool {
        match self {
            Role::Administrator => true,
            Role::Manager => role != Role::Administrator,
            _ => false,
        }
    }
}

/// An e-mail address, trimmed and lower-cased: one person, one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Email, Invalid> {
        let text = text.trim();
        if !email_address::EmailAddress::is_valid(text) || text.len() > 254 {
            return Err(Invalid(format!("{text:?} is not an e-mail address")));
        }
        Ok(Email(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a user can sign in yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Invited; no password set through the invitation link yet.
    Invited,
    Active,
}

impl UserStatus {
    pub fn name(self) -> &'static str {
        match self {
            UserStatus::Invited => "Invited",
            UserStatus::Active => "Active",
        }
    }

    pub fn parse(name: &str) -> Option<UserStatus> {
        [UserStatus::Invited, UserStatus::Active]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub org_id: i64,
    pub email: Email,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
    pub status: UserStatus,
}

impl User {
    /// The address is confirmed once its owner used the link sent to it.
    pub fn email_confirmed(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// The name to show: the person's own, else their address.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.email.as_str())
    }
}

/// One person to invite.
#[derive(Debug, Clone)]
pub struct Invite {
    pub email: Email,
    pub role: Role,
}

/// A user with a one-time link to set their password (an invitation or a reset). The token is
/// shown once; the store keeps its hash.
#[derive(Debug, Clone)]
pub struct PasswordLink {
    pub user: User,
    pub token: String,
    pub expires_at: Timestamp,
}

/// What an invitation did for each person: invited anew, or (inviting to a workspace) an
/// existing member of the organisation given access to it.
#[derive(Debug, Clone)]
pub enum Invited {
    New(PasswordLink),
    Existing(User),
}

impl Invited {
    pub fn user(&self) -> &User {
        match self {
            Invited::New(link) => &link.user,
            Invited::Existing(user) => user,
        }
    }
}

/// How long an invitation or reset link works (docket's choice: a week).
pub const PASSWORD_LINK_SECONDS: i64 = 7 * 24 * 3600;

/// Passwords shorter than this are refused (NIST SP 800-63B's minimum).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a new password's length (NIST SP 800-63B: length, not composition rules).
pub fn check_new_password(password: &str) -> Result<(), Invalid> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if chars > 1024 {
        return Err(Invalid(
            "a password may have at most 1024 characters".into(),
        ));
    }
    Ok(())
}

/// The argon2id hash (PHC string, argon2's default parameters) of a password.
pub fn hash_password(password: &str) -> Result<String, Invalid> {
    // A 16-byte random salt (argon2's recommended length) from the same generator as secrets.
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| Invalid(format!("cannot salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Invalid(format!("cannot hash the password: {e}")))
}

/// Whether the password matches a hash from `hash_password`; a malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_in_any_case_and_unknown_ones_are_named() {
        assert_eq!(Role::parse(" reviewer ").unwrap(), Role::Reviewer);
        let err = Role::parse("Owner").unwrap_err();
        assert!(err.0.contains("Administrator, Manager"), "{}", err.0);
    }

    #[test]
    fn only_administrators_invite_administrators() {
        assert!(Role::Administrator.may_invite(Role::Administrator));
        assert!(!Role::Manager.may_invite(Role::Administrator));
        assert!(Role::Manager.may_invite(Role::Reviewer));
        assert!(!Role::Reviewer.may_invite(Role::Viewer));
    }

    #[test]
    fn emails_are_validated_and_folded() {
        assert_eq!(
            Email::parse(" Ana@Example.PT ").unwrap().as_str(),
            "ana@example.pt"
        );
        for bad in ["", "ana", "ana@", "@example.pt", "a b@example.pt"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(check_new_password("short").is_err());
    }
}

//! The settings pages, for Administrators and Managers: the organisation's (its workspaces,
//! its people and invitations, and for Administrators the API secret) and one workspace's (how
//! its documents are read and reviewed).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{field, from_our_pages, page_response, Chrome, UiResult, Viewer, SETTINGS_PATH};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::input::Query;
use crate::people::{checked_invites, invite, visible_workspace, UserInvite};
use crate::review::save_review_settings;
use crate::AppState;
use docket_domain::people::{Role, User};
use docket_domain::review::{AssignmentMode, ReviewSettings};
use docket_domain::tenant::Workspace;
use docket_domain::webhook::{WebhookChange, WebhookSecret, WebhookSettings};
use docket_domain::workspace::valid_languages;
use docket_domain::WorkspaceTemplate;

/// The person, if they may change settings.
fn manager(user: User) -> ApiResult<User> {
    if user.role.sees_every_workspace() {
        Ok(user)
    } else {
        Err(ApiError::Forbidden(
            "only Administrators and Managers change settings".into(),
        ))
    }
}

struct WorkspaceRow {
    id: i64,
    name: String,
    template: &'static str,
    languages: String,
    auto_review: bool,
}

struct PersonRow {
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
}

/// What the last action on the page produced, shown once.
enum Outcome {
    None,
    Invited {
        email: String,
        /// None: already a member, now given the workspace.
        link: Option<(String, String)>,
    },
    Rotated {
        client_id: String,
        secret: String,
        expires: String,
    },
    Error(String),
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    me: Chrome,
    workspaces: Vec<WorkspaceRow>,
    people: Vec<PersonRow>,
    roles: Vec<&'static str>,
    administrator: bool,
    client_id: String,
    outcome: Outcome,
}

async fn settings_page(
    state: &AppState,
    user: &User,
    status: StatusCode,
    outcome: Outcome,
) -> ApiResult<Response> {
    let workspaces = state
        .store
        .workspaces(user.org_id)
        .await?
        .into_iter()
        .map(|w| WorkspaceRow {
            id: w.id,
            template: WorkspaceTemplate::parse(&w.template)
                .map_or("?", WorkspaceTemplate::display_name),
            name: w.name,
            languages: w.languages,
            auto_review: w.review.auto_review,
        })
        .collect();
    let people = state
        .store
        .users(user.org_id)
        .await?
        .iter()
        .map(|u| PersonRow {
            name: u.name.clone().unwrap_or_default(),
            email: u.email.as_str().to_owned(),
            role: u.role.name(),
            status: u.status.name(),
        })
        .collect();
    let client_id = state
        .store
        .organizations()
        .await?
        .into_iter()
        .find(|o| o.id == user.org_id)
        .map(|o| o.client_id)
        .unwrap_or_default();
    let view = SettingsPage {
        me: Chrome::of(user),
        workspaces,
        people,
        roles: Role::ALL
            .iter()
            .filter(|r| user.role.may_invite(**r))
            .map(|r| r.name())
            .collect(),
        administrator: user.role == Role::Administrator,
        client_id,
        outcome,
    };
    Ok(page_response(status, &view))
}

pub async fn organisation_settings(
    Viewer(user): Viewer,
    State(state): State<AppState>,
) -> UiResult<Response> {
    let user = manager(user)?;
    Ok(settings_page(&state, &user, StatusCode::OK, Outcome::None).await?)
}

/// Invites one person, and shows the link they set their password with.
pub async fn invite_person(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult<Response> {
    from_our_pages(&headers, &state)?;
    let user = manager(user)?;
    let actor = Actor::User(user.clone());
    let request = UserInvite {
        email: field(&body, "email"),
        role_name: field(&body, "role"),
    };
    let invited = async {
        let invites = checked_invites(&actor, std::slice::from_ref(&request))?;
        invite(&state, &actor, &invites, None).await
    }
    .await;
    let (status, outcome) = match invited {
        Ok(mut invited) if !invited.is_empty() => {
            let person = invited.remove(0);
            let link = person
                .invitation_url
                .zip(person.invitation_expires_on.map(|t| t.to_api_string()));
            let outcome = Outcome::Invited {
                email: person.user.email,
                link,
            };
            (StatusCode::OK, outcome)
        }
        Ok(_) => return Err(ApiError::Internal(anyhow::anyhow!("nobody invited")).into()),
        Err(e @ (ApiError::BadRequest(_) | ApiError::Forbidden(_))) => {
            (e.status(), Outcome::Error(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(settings_page(&state, &user, status, outcome).await?)
}

/// A new API secret for the organisation, shown once; the old one and its tokens stop working.
pub async fn rotate_secret(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> UiResult<Response> {
    from_our_pages(&headers, &state)?;
    if user.role != Role::Administrator {
        return Err(ApiError::Forbidden("only Administrators rotate the API secret".into()).into());
    }
    let organisation = state
        .store
        .organizations()
        .await?
        .into_iter()
        .find(|o| o.id == user.org_id)
        .ok_or(ApiError::NotFound("organisation"))?;
    let issued = state.store.rotate_secret(&organisation.client_id).await?;
    let outcome = Outcome::Rotated {
        client_id: issued.organization.client_id,
        secret: issued.client_secret,
        expires: issued.secret_expires_at.to_api_string(),
    };
    Ok(settings_page(&state, &user, StatusCode::OK, outcome).await?)
}

/// An option of a select or a box of a list of choices.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage<'a> {
    me: Chrome,
    id: i64,
    name: &'a str,
    templates: Vec<Choice>,
    languages: &'a str,
    required_fields: String,
    threshold: String,
    auto_review: bool,
    in_turn: bool,
    reviewers: Vec<Choice>,
    webhook: Option<WebhookSettings>,
    saved: bool,
    error: Option<String>,
}

/// What the workspace form holds: how documents are read, and the review settings.
struct WorkspaceForm {
    template: String,
    languages: String,
    review: ReviewSettings,
}

impl WorkspaceForm {
    /// The form as the workspace is now.
    fn of(workspace: &Workspace) -> Self {
        WorkspaceForm {
            template: workspace.template.clone(),
            languages: workspace.languages.clone(),
            review: workspace.review.clone(),
        }
    }
}

async fn workspace_page(
    state: &AppState,
    user: &User,
    workspace: &Workspace,
    form: &WorkspaceForm,
    saved: bool,
    error: Option<String>,
) -> ApiResult<Response> {
    let people = state.store.users(user.org_id).await?;
    let reviewers = people
        .iter()
        .filter(|u| u.role.may_edit())
        .map(|u| Choice {
            value: u.id.to_string(),
            label: format!("{} ({})", u.display_name(), u.role.name()),
            selected: form.review.reviewers.contains(&u.id),
        })
        .collect();
    let templates = WorkspaceTemplate::ALL
        .iter()
        .map(|t| Choice {
            value: t.key().to_owned(),
            label: t.display_name().to_owned(),
            selected: t.key().eq_ignore_ascii_case(&form.template),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let webhook = state.store.webhook(user.org_id, workspace.id).await?;
    let view = WorkspacePage {
        me: Chrome::of(user),
        id: workspace.id,
        name: &workspace.name,
        templates,
        languages: &form.languages,
        required_fields: form.review.required_fields.join(", "),
        threshold: format!("{:.2}", form.review.confidence_threshold),
        auto_review: form.review.auto_review,
        in_turn: form.review.assignment == AssignmentMode::InTurn,
        reviewers,
        webhook,
        saved,
        error,
    };
    Ok(page_response(status, &view))
}

/// The workspace, if the person may change its settings.
async fn managed_workspace(state: &AppState, user: &User, raw_id: &str) -> ApiResult<Workspace> {
    let actor = Actor::User(manager(user.clone())?);
    let id = visible_workspace(&actor, state, raw_id).await?;
    state
        .store
        .workspace(user.org_id, Some(id))
        .await?
        .ok_or(ApiError::NotFound("workspace"))
}

pub async fn workspace_settings(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    query: Query,
) -> UiResult<Response> {
    let workspace = managed_workspace(&state, &user, &workspace_id).await?;
    let form = WorkspaceForm::of(&workspace);
    let saved = query.get("saved").is_some();
    Ok(workspace_page(&state, &user, &workspace, &form, saved, None).await?)
}

/// Reads the posted form; the review settings are checked when they are kept.
fn read_workspace_form(body: &[u8]) -> ApiResult<WorkspaceForm> {
    let threshold = field(body, "threshold");
    let confidence_threshold = threshold.trim().parse::<f64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "the confidence threshold must be a number from 0 to 1, not {threshold:?}"
        ))
    })?;
    let reviewers = form_urlencoded::parse(body)
        .filter(|(k, _)| k == "reviewer")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("{v:?} is not a user id")))
        })
        .collect::<ApiResult<Vec<i64>>>()?;
    let required_fields = field(body, "required")
        .split([',', '\n'])
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(WorkspaceForm {
        template: field(body, "template"),
        languages: field(body, "languages").trim().to_owned(),
        review: ReviewSettings {
            assignment: if field(body, "assignment") == "inTurn" {
                AssignmentMode::InTurn
            } else {
                AssignmentMode::Any
            },
            reviewers,
            auto_review: field(body, "autoReview") == "true",
            confidence_threshold,
            required_fields,
        },
    })
}

pub async fn save_workspace_settings(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult<Response> {
    from_our_pages(&headers, &state)?;
    let workspace = managed_workspace(&state, &user, &workspace_id).await?;
    let form = match read_workspace_form(&body) {
        Ok(form) => form,
        Err(e) => return saved_or_said(&state, &user, &workspace, Err(e.to_string())).await,
    };
    let actor = Actor::User(user.clone());
    let kept = async {
        let template = WorkspaceTemplate::parse(&form.template)
            .ok_or_else(|| ApiError::BadRequest(format!("no template {:?}", form.template)))?;
        if !valid_languages(&form.languages) {
            return Err(ApiError::BadRequest(format!(
                "{:?} is not a language list such as por+eng",
                form.languages
            )));
        }
        save_review_settings(&state, &actor, workspace.id, &form.review).await?;
        state
            .store
            .set_workspace_reading(user.org_id, workspace.id, template.key(), &form.languages)
            .await?;
        Ok(())
    }
    .await;
    match kept {
        Ok(()) => {
            let to = format!("{SETTINGS_PATH}/workspaces/{}?saved=1", workspace.id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(ApiError::BadRequest(why)) => {
            Ok(workspace_page(&state, &user, &workspace, &form, false, Some(why)).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets, turns off or removes the workspace's webhook from its settings page.
pub async fn save_webhook(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult<Response> {
    from_our_pages(&headers, &state)?;
    let workspace = managed_workspace(&state, &user, &workspace_id).await?;
    let current = state.store.webhook(user.org_id, workspace.id).await?;
    let kept = if field(&body, "remove") == "true" {
        state
            .store
            .set_webhook(user.org_id, workspace.id, None)
            .await?;
        Ok(())
    } else {
        let timeout = field(&body, "timeout");
        let hours = field(&body, "hours");
        let change = WebhookChange {
            url: Some(field(&body, "url")),
            body: Some(field(&body, "body")).filter(|b| !b.is_empty()),
            file_link_hours: hours.trim().parse().ok(),
            enabled: Some(field(&body, "enabled") == "true"),
            schedule: Some(field(&body, "schedule")),
            timeout_seconds: timeout.trim().parse().ok(),
        };
        match change.apply(current) {
            Ok(webhook) => {
                let org = user.org_id;
                state
                    .store
                    .set_webhook(org, workspace.id, Some(&webhook))
                    .await?;
                state.pipeline.wake_deliveries();
                Ok(())
            }
            Err(e) => Err(e.0),
        }
    };
    saved_or_said(&state, &user, &workspace, kept).await
}

/// A new secret for the workspace's webhook.
pub async fn rotate_webhook_secret(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> UiResult<Response> {
    from_our_pages(&headers, &state)?;
    let workspace = managed_workspace(&state, &user, &workspace_id).await?;
    let mut webhook = state
        .store
        .webhook(user.org_id, workspace.id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    webhook.secret = WebhookSecret::generate();
    state
        .store
        .set_webhook(user.org_id, workspace.id, Some(&webhook))
        .await?;
    saved_or_said(&state, &user, &workspace, Ok(())).await
}

/// Back to the workspace's page: saved, or the page again saying what was wrong.
async fn saved_or_said(
    state: &AppState,
    user: &User,
    workspace: &Workspace,
    kept: Result<(), String>,
) -> UiResult<Response> {
    match kept {
        Ok(()) => {
            let to = format!("{SETTINGS_PATH}/workspaces/{}?saved=1", workspace.id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(why) => {
            let form = WorkspaceForm::of(workspace);
            Ok(workspace_page(state, user, workspace, &form, false, Some(why)).await?)
        }
    }
}

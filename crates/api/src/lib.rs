//! The HTTP API: the SmartDocumentor External API routes, authentication, the error mapping and
//! the generated OpenAPI document, the operations endpoints (health, readiness, metrics), and
//! the web UI for people. Handlers are thin: they validate input into domain types and call the
//! store and the pipeline.

mod auth;
mod catalog;
mod error;
mod files;
mod input;
mod ops;
mod paths;
mod people;
mod review;
mod session;
mod tasks;
mod ui;
mod webhooks;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use docket_pipeline::Pipeline;
use docket_store::blobs::BlobStore;
use docket_store::{Listed, Page, Store};

pub use docket_domain::links::FileLinks;
pub use error::ApiError;
pub use session::SignInLimiter;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub token_ttl_seconds: i64,
    pub max_upload_bytes: usize,
    /// Base of the URLs docket hands out (e.g. `originalFileUrl`). Links come from configuration
    /// only, never from request headers a client controls (Host, X-Forwarded-*).
    pub public_url: String,
    /// How long a signed `originalFileUrl` works.
    pub link_ttl_days: i64,
    /// The most tasks `statuslist` returns at once; past it the request is refused (400), not
    /// cut short, so a client never mistakes part of a list for all of it.
    pub status_list_cap: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token_ttl_seconds: 3600,
            max_upload_bytes: 100 * 1024 * 1024,
            public_url: "http://127.0.0.1:8080".to_owned(),
            link_ttl_days: 180,
            status_list_cap: 10_000,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub blobs: BlobStore,
    pub pipeline: Pipeline,
    pub config: Arc<ApiConfig>,
    pub links: FileLinks,
    pub sign_ins: Arc<SignInLimiter>,
}

impl AppState {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        pipeline: Pipeline,
        config: ApiConfig,
        links: FileLinks,
    ) -> Self {
        AppState {
            store,
            blobs,
            pipeline,
            config: Arc::new(config),
            links,
            sign_ins: Arc::default(),
        }
    }

    fn base_url(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    /// A signed link to the task's original file, as exports carry it.
    pub fn original_file_url(&self, task_id: i64) -> String {
        let now = docket_domain::Timestamp::now();
        self.links.url(self.base_url(), task_id, now)
    }

    /// Where a person sets their password with a one-time link's token.
    pub fn password_link_url(&self, token: &str) -> String {
        format!("{}{PASSWORD_PATH}/{token}", self.base_url())
    }
}

/// The page of a one-time link to set a password.
pub const PASSWORD_PATH: &str = "/password";

/// The paginated envelope shared by tasks and batches.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paginated<T> {
    pub items: Vec<T>,
    pub page_number: u32,
    pub total_pages: i64,
    pub total_count: i64,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

impl<T> Paginated<T> {
    fn from_listed<U: Into<T>>(listed: Listed<U>, page: Page) -> Self {
        let items = listed.items.into_iter().map(Into::into).collect();
        let total_count = listed.total_count;
        let size = i64::from(page.size);
        let total_pages = (total_count + size - 1) / size;
        Paginated {
            items,
            page_number: page.number,
            total_pages,
            total_count,
            has_previous_page: page.number > 1,
            has_next_page: i64::from(page.number) < total_pages,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "docket", description = "Self-hosted IDP server speaking the SmartDocumentor External API"),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(error::Problem))
)]
struct ApiDoc;

/// Documents every error response with the problem body, and the 401 of every operation that
/// needs the bearer token, in one pass over the finished document.
fn document_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder, SecurityRequirement};
    let problem = Content::new(Some(Ref::from_schema_name("Problem")));
    for operation in operations_mut(openapi) {
        let public = operation
            .security
            .as_ref()
            .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
        let responses = &mut operation.responses.responses;
        if !public && !responses.contains_key("401") {
            let unauthorized = ResponseBuilder::new()
                .description("Missing, invalid or expired bearer token")
                .build();
            responses.insert("401".to_owned(), RefOr::T(unauthorized));
        }
        for (code, response) in responses.iter_mut() {
            if let RefOr::T(response) = response {
                let error = code.starts_with('4') || code.starts_with('5');
                if error && response.content.is_empty() {
                    response
                        .content
                        .insert(error::PROBLEM_JSON.to_owned(), problem.clone());
                }
            }
        }
    }
}

/// Writes what client generators misread in a form they read right (a generated Python client
/// must work unpatched; tests/python):
/// - public operations as `security: []`: `[{}]`, what `security(())` gives, means the same in
///   OpenAPI, but openapi-python-client takes any non-empty list as "needs a token";
/// - a body with several content types (task creation: JSON or multipart) without
///   `required: true`, which makes openapi-python-client 0.29 emit code that does not import
///   (openapi-python-client issue #1451). The server still refuses a missing body with 400.
fn fit_client_generators(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::SecurityRequirement;
    for operation in operations_mut(openapi) {
        if let Some(security) = &mut operation.security {
            if security
                .iter()
                .all(|r| *r == SecurityRequirement::default())
            {
                security.clear();
            }
        }
        if let Some(body) = &mut operation.request_body {
            if body.content.len() > 1 {
                body.required = None;
            }
        }
    }
}

/// Every operation of the document.
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Largest body of any request but a document upload.
pub(crate) const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The whole API with its OpenAPI document at `/openapi.json`, shown by Swagger UI at `/docs`.
pub fn router(state: AppState) -> Router {
    // Only task creation takes documents; every other body is a small form or JSON object.
    // Multipart uploads carry form fields beside the file: leave room for them.
    let upload_limit = DefaultBodyLimit::max(state.config.max_upload_bytes + 64 * 1024);
    let (schemas, paths, process) = routes!(tasks::process);
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::token))
        .routes((schemas, paths, process.layer(upload_limit)))
        .routes(routes!(tasks::status))
        .routes(routes!(tasks::status_list))
        .routes(routes!(tasks::status_list_paginated))
        .routes(routes!(tasks::set_external_integration_status))
        .routes(routes!(tasks::set_external_integration_status_docs_path))
        .routes(routes!(tasks::restart_processing))
        .routes(routes!(tasks::export_data))
        .routes(routes!(tasks::export_data_by_query))
        .routes(routes!(files::original_file))
        .routes(routes!(files::signed_original_file))
        .routes(routes!(files::signed_exported_file))
        .routes(routes!(tasks::status_history))
        .routes(routes!(catalog::current_workspaces))
        .routes(routes!(catalog::create_batch, catalog::get_batch))
        .routes(routes!(catalog::batches_paginated))
        .routes(routes!(people::available_roles))
        .routes(routes!(people::all_users))
        .routes(routes!(people::workspace_users))
        .routes(routes!(people::invite_users))
        .routes(routes!(people::invite_workspace_users))
        .routes(routes!(review::check_out))
        .routes(routes!(review::release))
        .routes(routes!(review::complete))
        .routes(routes!(review::edit_fields))
        .routes(routes!(review::delete_task))
        .routes(routes!(review::cancel_task))
        .routes(routes!(
            webhooks::webhook,
            webhooks::set_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(
            review::review_settings,
            review::set_review_settings
        ))
        .split_for_parts();
    let mut openapi = openapi;
    document_problems(&mut openapi);
    fit_client_generators(&mut openapi);
    let documented = openapi.paths.paths.keys().map(String::as_str);
    let undocumented = [
        OPENAPI_PATH,
        DOCS_PATH,
        "/docs/{file}",
        ops::HEALTH_PATH,
        ops::READY_PATH,
        ops::METRICS_PATH,
        ui::SIGN_IN_PATH,
        ui::SIGN_OUT_PATH,
        ui::DOCUMENTS_PATH,
        ui::STYLESHEET_PATH,
        ui::REVIEW_SCRIPT_PATH,
        ui::SETTINGS_PATH,
    ];
    let tree = Arc::new(paths::PathTree::new(documented.chain(undocumented)));
    // Swagger UI (its assets are in the binary) serves the document it shows, too.
    let docs = SwaggerUi::new(DOCS_PATH).url(OPENAPI_PATH, openapi);
    ops::prometheus();
    let inner = router
        .merge(docs)
        .route(ops::HEALTH_PATH, get(ops::healthz))
        .route(ops::READY_PATH, get(ops::readyz))
        .route(ops::METRICS_PATH, get(ops::metrics))
        .route("/", get(ui::home))
        .route(ui::STYLESHEET_PATH, get(ui::stylesheet))
        .route(ui::SIGN_IN_PATH, get(ui::sign_in_page).post(ui::sign_in))
        .route(ui::SIGN_OUT_PATH, post(ui::sign_out))
        .route(
            &format!("{PASSWORD_PATH}/{{token}}"),
            get(ui::password_page).post(ui::set_password),
        )
        .route(ui::DOCUMENTS_PATH, get(ui::documents))
        .route(ui::REVIEW_SCRIPT_PATH, get(ui::review_script))
        .route("/documents/{task}", get(ui::document))
        .route("/documents/{task}/pages/{page}", get(ui::page_picture))
        .route("/documents/{task}/checkout", post(ui::start_review))
        .route("/documents/{task}/release", post(ui::release_review))
        .route("/documents/{task}/complete", post(ui::complete_review))
        .route("/documents/{task}/cancel", post(ui::cancel_task))
        .route("/documents/{task}/delete", post(ui::delete_task))
        .route(ui::SETTINGS_PATH, get(ui::organisation_settings))
        .route("/settings/invite", post(ui::invite_person))
        .route("/settings/secret", post(ui::rotate_secret))
        .route(
            "/settings/workspaces/{workspace}",
            get(ui::workspace_settings).post(ui::save_workspace_settings),
        )
        .route(
            "/settings/workspaces/{workspace}/webhook",
            post(ui::save_webhook),
        )
        .route(
            "/settings/workspaces/{workspace}/webhook/secret",
            post(ui::rotate_webhook_secret),
        )
        .route("/documents/{task}/redeliver", post(ui::redeliver))
        .layer(middleware::from_fn(ops::http_latency))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(middleware::from_fn(error::problem_responses))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    // Paths are put in canonical case before the inner router picks a route.
    Router::new()
        .fallback_service(inner)
        .layer(middleware::map_request_with_state(
            tree,
            paths::canonicalise,
        ))
}

const OPENAPI_PATH: &str = "/openapi.json";
const DOCS_PATH: &str = "/docs";

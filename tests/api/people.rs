//! People: the documented roles and user routes, invitations and their password links, browser
//! sessions (sign-in, sign-out, CSRF, rate limit) and what each role may see.

use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::server::{start_with, TestServer};

const INVITE: &str = "/api/v1.0/external/tenant/inviteusers";
const INVITE_TO_WORKSPACE: &str = "/api/v1.0/external/sdworkspace/inviteusers";
const ALL_USERS: &str = "/api/v1.0/external/tenant/allusers";

async fn invite(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .call(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Invites one person through the API and returns their password link.
pub(crate) async fn invite_one(
    server: &TestServer,
    email: &str,
    role: &str,
    workspace: Option<i64>,
) -> String {
    let person = json!([{"email": email, "roleName": role}]);
    let (status, body) = match workspace {
        Some(id) => {
            let body = json!({"workspaceId": id, "users": person});
            invite(server, INVITE_TO_WORKSPACE, body).await
        }
        None => invite(server, INVITE, json!({ "users": person })).await,
    };
    assert_eq!(status, 200, "{body}");
    body[0]["invitationUrl"].as_str().unwrap().to_owned()
}

/// A browser: no redirects followed, its session cookie kept, and (unless told otherwise)
/// the Origin of docket's own pages on what it posts.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    pub(crate) fn new(server: &TestServer) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            base: server.base.clone(),
            cookie: None,
        }
    }

    pub(crate) fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let request = self.http.request(method, url);
        match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        }
    }

    fn keep_cookie(&mut self, response: &reqwest::Response) {
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            let pair = set.split(';').next().unwrap();
            self.cookie = Some(pair.to_owned()).filter(|p| !p.ends_with('='));
        }
    }

    pub(crate) async fn post_form(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let response = self
            .request(Method::POST, url)
            .header(ORIGIN, &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookie(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        (status, location.unwrap_or(body))
    }

    pub(crate) async fn get(&self, url: &str) -> (StatusCode, String) {
        let response = self.request(Method::GET, url).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    pub(crate) async fn accept(&mut self, link: &str, name: &str, password: &str) {
        let form = [
            ("name", name),
            ("password", password),
            ("confirm", password),
        ];
        let (status, location) = self.post_form(link, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        assert_eq!(location, "/documents");
        assert!(self.cookie.is_some(), "signed in");
    }
}

#[tokio::test]
async fn the_documented_roles_are_available() {
    let server = start_with(false, |s| s).await;
    let (status, roles) = server
        .get_json("/api/v1.0/external/tenant/AvailableRoles")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        roles,
        json!([{"name": "Administrator"}, {"name": "Manager"}, {"name": "Creator"},
               {"name": "Reviewer"}, {"name": "Viewer"}])
    );
}

#[tokio::test]
async fn invitations_are_checked_whole_and_listed_until_accepted() {
    let server = start_with(false, |s| s).await;
    let bad = [
        json!({"users": []}),
        json!({"users": [{"email": "not-an-address", "roleName": "Reviewer"}]}),
        json!({"users": [{"email": "a@example.pt", "roleName": "Owner"}]}),
        json!({"users": [{"email": "a@example.pt", "roleName": "Reviewer"},
                         {"email": "b@example.pt", "roleName": "Viewer"},
                         {"email": "A@example.pt", "roleName": "Viewer"}]}),
        json!({"users": "a@example.pt"}),
    ];
    for body in bad {
        let (status, problem) = invite(&server, INVITE, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {problem}");
    }
    assert_eq!(
        server.get_json(ALL_USERS).await.1,
        json!([]),
        "nothing half-made"
    );

    let body = json!({"Users": [{"EMAIL": " Ana@Example.pt ", "rolename": "reviewer"}]});
    let (status, invited) = invite(&server, INVITE, body).await;
    assert_eq!(status, 200, "{invited}");
    let url = invited[0]["invitationUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/password/", server.base)),
        "{url}"
    );
    let (status, again) = invite(
        &server,
        INVITE,
        json!({"users": [{"email": "ana@example.pt", "roleName": "Viewer"}]}),
    )
    .await;
    assert_eq!(
        status, 400,
        "an address already in the organisation: {again}"
    );

    let users = server.get_json(ALL_USERS).await.1;
    let user = &users[0];
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(user["email"], "ana@example.pt");
    assert_eq!(user["userName"], "ana@example.pt");
    assert_eq!(user["roleName"], "Reviewer");
    assert_eq!(user["name"], Value::Null);
    assert_eq!(user["emailConfirmed"], false);
    assert_eq!(user["status"], "Invited");
    let keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut documented = [
        "id",
        "roleName",
        "name",
        "userName",
        "email",
        "createdAt",
        "emailConfirmed",
        "status",
    ];
    documented.sort();
    assert_eq!(keys, documented);

    let mut browser = Browser::new(&server);
    let (status, page) = browser.get(url).await;
    assert_eq!(status, 200);
    assert!(page.contains("ana@example.pt"), "{page}");
    browser.accept(url, "Ana Silva", "long enough secret").await;
    let (status, _) = browser.get(url).await;
    assert_eq!(status, 404, "a link works once");
    let user = &server.get_json(ALL_USERS).await.1[0];
    assert_eq!(
        (&user["status"], &user["emailConfirmed"], &user["name"]),
        (&json!("Active"), &json!(true), &json!("Ana Silva"))
    );
}

#[tokio::test]
async fn a_password_form_refuses_short_or_mismatched_passwords_and_other_sites() {
    let server = start_with(false, |s| s).await;
    let link = invite_one(&server, "rui@example.pt", "Viewer", None).await;
    let mut browser = Browser::new(&server);
    let short = [("password", "short"), ("confirm", "short")];
    assert_eq!(
        browser.post_form(&link, &short).await.0,
        StatusCode::BAD_REQUEST
    );
    let differ = [("password", "long enough 1"), ("confirm", "long enough 2")];
    assert_eq!(
        browser.post_form(&link, &differ).await.0,
        StatusCode::BAD_REQUEST
    );
    let forged = browser
        .request(Method::POST, &link)
        .header(ORIGIN, "https://evil.example")
        .form(&[("password", "long enough 1"), ("confirm", "long enough 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    browser.accept(&link, "", "long enough 1").await;
}

#[tokio::test]
async fn signing_in_and_out_with_a_limit_on_failures() {
    let server = start_with(false, |s| s).await;
    let link = invite_one(&server, "ana@example.pt", "Manager", None).await;
    Browser::new(&server)
        .accept(&link, "Ana", "long enough secret")
        .await;

    let mut browser = Browser::new(&server);
    let (status, _) = browser.get("/documents").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out: sent to sign in");
    let wrong = [("email", "ana@example.pt"), ("password", "wrong password")];
    let (status, page) = browser.post_form("/signin", &wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong e-mail or password"), "{page}");
    let right = [
        ("email", "ANA@example.pt"),
        ("password", "long enough secret"),
    ];
    let (status, location) = browser.post_form("/signin", &right).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/documents")
    );
    let (status, page) = browser.get("/documents").await;
    assert_eq!(status, 200);
    assert!(page.contains("Ana · Manager"), "{page}");
    let (status, _) = browser.post_form("/signout", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(browser.cookie, None, "the cookie is cleared");

    // The failure before the right password counts for the client's address.
    for _ in 0..10 {
        let status = browser.post_form("/signin", &wrong).await.0;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{status}"
        );
    }
    let (status, _) = browser.post_form("/signin", &right).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
}

#[tokio::test]
async fn what_each_role_may_see_and_do_with_a_session() {
    let server = start_with(false, |s| s).await;
    let org = server.credentials.organization.id;
    let store = server.docket.store();
    let shared = store
        .create_workspace(org, "Shared", None, "Layout", "por+eng")
        .await
        .unwrap()
        .id;
    let private = store
        .create_workspace(org, "Private", None, "Layout", "por+eng")
        .await
        .unwrap()
        .id;
    let link = invite_one(&server, "rev@example.pt", "Reviewer", Some(shared)).await;
    let mut reviewer = Browser::new(&server);
    reviewer.accept(&link, "Rev", "long enough secret").await;
    let link = invite_one(&server, "boss@example.pt", "Manager", None).await;
    let mut manager = Browser::new(&server);
    manager.accept(&link, "Boss", "long enough secret").await;

    let users_of = |id: i64| format!("/api/v1.0/external/sdworkspace/allusers/{id}");
    let (status, members) = reviewer.get(&users_of(shared)).await;
    assert_eq!(status, 200, "{members}");
    let members: Value = serde_json::from_str(&members).unwrap();
    let emails: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["rev@example.pt", "boss@example.pt"]);
    assert_eq!(
        reviewer.get(&users_of(private)).await.0,
        404,
        "not assigned"
    );
    assert_eq!(reviewer.get(ALL_USERS).await.0, 403);
    assert_eq!(manager.get(&users_of(private)).await.0, 200, "sees all");

    let other = server.other_tenant_token().await;
    let foreign = server
        .http
        .get(server.url(&users_of(shared)))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404, "another organisation's workspace");

    let invite_as = |browser: &Browser, role: &str, origin: Option<&str>| {
        let body =
            json!({"users": [{"email": format!("new-{role}@example.pt"), "roleName": role}]});
        let request = browser.request(Method::POST, INVITE).json(&body);
        match origin {
            Some(origin) => request.header(ORIGIN, origin.to_owned()),
            None => request,
        }
    };
    let base = server.base.clone();
    let cross_site = invite_as(&manager, "Viewer", None).send().await.unwrap();
    assert_eq!(
        cross_site.status(),
        403,
        "no Origin: not from docket's pages"
    );
    let response = invite_as(&manager, "Administrator", Some(&base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "a Manager cannot make an Administrator"
    );
    let response = invite_as(&manager, "Viewer", Some(&base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = invite_as(&reviewer, "Viewer", Some(&base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "a Reviewer invites nobody");
}

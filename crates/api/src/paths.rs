//! Route paths in any case, as SmartDocumentor's ASP.NET routes match them (`/statusList`,
//! `/getexportdata/3`, `/Connect/Token`): before routing, each literal segment of the request
//! path takes the casing of the registered route segment it matches at that depth. Parameters
//! (`{taskid}`) keep what the client sent.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::{PathAndQuery, Uri};

/// The registered paths as a tree of segments.
#[derive(Debug, Default)]
pub(super) struct PathTree {
    literals: Vec<(String, PathTree)>,
    param: Option<Box<PathTree>>,
}

impl PathTree {
    pub(super) fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut tree = PathTree::default();
        for path in paths {
            let mut node = &mut tree;
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                node = if segment.starts_with('{') {
                    node.param.get_or_insert_with(Default::default)
                } else {
                    let found = node.literals.iter().position(|(s, _)| s == segment);
                    let i = found.unwrap_or_else(|| {
                        node.literals
                            .push((segment.to_owned(), PathTree::default()));
                        node.literals.len() - 1
                    });
                    &mut node.literals[i].1
                };
            }
        }
        tree
    }

    /// The path with each literal segment in its registered casing; None when nothing changes.
    fn canonical(&self, path: &str) -> Option<String> {
        let mut node = self;
        let mut changed = false;
        let mut out = Vec::new();
        for segment in path.split('/') {
            if segment.is_empty() {
                out.push(segment);
                continue;
            }
            let exact = node.literals.iter().find(|(s, _)| s == segment);
            let any_case = || {
                node.literals
                    .iter()
                    .find(|(s, _)| s.eq_ignore_ascii_case(segment))
            };
            match exact.or_else(any_case) {
                Some((canonical, next)) => {
                    changed |= canonical != segment;
                    out.push(canonical);
                    node = next;
                }
                None => match &node.param {
                    Some(next) => {
                        out.push(segment);
                        node = next;
                    }
                    // Not a route: left to the router's 404.
                    None => return None,
                },
            }
        }
        changed.then(|| out.join("/"))
    }
}

/// `map_request_with_state` middleware: rewrites the request path to its canonical casing.
pub(super) async fn canonicalise(
    State(tree): State<Arc<PathTree>>,
    mut request: Request,
) -> Request {
    let Some(path) = tree.canonical(request.uri().path()) else {
        return request;
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = PathAndQuery::try_from(path_and_query).ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_take_the_registered_casing_at_their_depth() {
        let tree = PathTree::new([
            "/connect/token",
            "/api/v1.0/external/sdtask/GetExportData/{taskid}",
            "/api/v1.0/external/sdtask/GetExportData",
            "/api/v1.0/external/sdtask/statuslist",
            "/files/original/{taskId}",
        ]);
        let canonical = |p| tree.canonical(p);
        assert_eq!(
            canonical("/Connect/Token").as_deref(),
            Some("/connect/token")
        );
        assert_eq!(
            canonical("/API/V1.0/external/sdtask/getexportdata/Ab3").as_deref(),
            Some("/api/v1.0/external/sdtask/GetExportData/Ab3")
        );
        assert_eq!(
            canonical("/api/v1.0/external/SDTASK/statusList").as_deref(),
            Some("/api/v1.0/external/sdtask/statuslist")
        );
        assert_eq!(canonical("/connect/token"), None, "already canonical");
        assert_eq!(canonical("/Connect/Nope"), None, "not a route");
        assert_eq!(
            canonical("/token/connect"),
            None,
            "segments match at their depth only"
        );
        assert_eq!(
            canonical("/Files/Original/x").as_deref(),
            Some("/files/original/x")
        );
    }
}

//! The JSON-lines door, `POST /v1/commands`: the protocol of SPEC section 2 over HTTP. Each line's
//! `actor` may be left out (the key's actor acts); naming another actor is `access_denied`.

use super::server::{App, Authed};
use crate::error::{ErrorCode, Rejection};
use crate::protocol::{self, Response};
use http_body_util::Full;
use hyper::StatusCode;
use hyper::body::Bytes;
use serde_json::Value;
use std::sync::Arc;

/// Lines per request, at most.
pub const LINES_MAX: usize = 1000;

const ROUTE: &str = "/v1/commands";

pub(crate) async fn handle(app: &Arc<App>, request: Authed) -> hyper::Response<Full<Bytes>> {
    let Ok(text) = std::str::from_utf8(&request.body) else {
        return app.error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest.cbc(), "invalid_request: the body is not UTF-8", ROUTE);
    };
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    if lines.len() > LINES_MAX {
        let message = format!("invalid_request: at most {LINES_MAX} lines per request, got {}", lines.len());
        return app.error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest.cbc(), &message, ROUTE);
    }
    let actor = &request.principal.actor;
    let mut answers: Vec<Option<Response>> = Vec::with_capacity(lines.len());
    let mut decoded = Vec::with_capacity(lines.len());
    for line in lines {
        let mut value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(error) => {
                answers.push(Some(Response::Failed {
                    id: None,
                    rejection: Rejection::new(ErrorCode::InvalidRequest, format!("not JSON: {error}")),
                }));
                continue;
            }
        };
        if let Value::Object(fields) = &mut value
            && !fields.contains_key("actor")
        {
            fields.insert("actor".into(), Value::String(actor.to_string()));
        }
        match protocol::decode_value(value) {
            Ok(decoded_request) if decoded_request.actor != *actor => {
                let message = format!("the access key acts as {actor}, not {}", decoded_request.actor);
                answers.push(Some(Response::Failed {
                    id: decoded_request.id.map(|id| id.as_str().to_owned()),
                    rejection: Rejection::new(ErrorCode::AccessDenied, message),
                }));
            }
            Ok(decoded_request) => {
                answers.push(None);
                decoded.push(decoded_request);
            }
            Err(error) => answers.push(Some(Response::Failed { id: error.id, rejection: error.rejection })),
        }
    }
    if let Some(min_seq) = decoded.iter().filter_map(|request| request.min_seq).max()
        && let Err(rejection) = super::server::wait_for(app, min_seq).await
    {
        return refused(app, &rejection);
    }
    let executed = app.engine.execute(decoded).await;
    // A node that does not lead runs no command: the whole request goes to the leader.
    if let Some(rejection) = executed.iter().filter_map(Response::rejection).find(|rejection| rejection.code == ErrorCode::NotLeader) {
        return refused(app, &rejection.clone());
    }
    let mut executed = executed.into_iter();
    let mut body = String::new();
    for answer in answers {
        let response = answer
            .or_else(|| executed.next())
            .unwrap_or_else(|| Response::Failed { id: None, rejection: Rejection::new(ErrorCode::Storage, "no answer") });
        body.push_str(&response.to_line());
        body.push('\n');
    }
    let mut response = app.json(StatusCode::OK, body.into_bytes(), ROUTE);
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/x-ndjson"));
    response
}

/// The whole request refused with 503 (`not_leader`, `not_applied`): SPEC section 9.
fn refused(app: &App, rejection: &Rejection) -> hyper::Response<Full<Bytes>> {
    let message = format!("{}: {}", rejection.code.name(), rejection.message);
    app.error(StatusCode::SERVICE_UNAVAILABLE, rejection.code.cbc(), &message, ROUTE)
}

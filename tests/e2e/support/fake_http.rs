//! Small HTTP services a test starts on 127.0.0.1:0 in place of outside ones (Hasura's
//! GraphQL endpoint, the HIBP range API, a forward proxy), recording what they receive.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

/// One request as the service saw it. `uri` is absolute when it came through as a proxy.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub uri: String,
    pub headers: HeaderMap,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
}

type Answer = dyn Fn(&Recorded) -> (u16, String) + Send + Sync;

pub struct FakeService {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeService {
    /// Serves every request with `answer(request)`: a status and a body.
    pub async fn start(
        answer: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let seen = requests.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (answer, seen) = (answer.clone(), seen.clone());
            async move {
                let (parts, body) = req.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let recorded = Recorded {
                    uri: parts.uri.to_string(),
                    headers: parts.headers,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                let (status, text) = answer(&recorded);
                seen.lock().unwrap().push(recorded);
                let status = StatusCode::from_u16(status).unwrap();
                (status, text).into_response()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeService { base, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

//! Driving a provider sign-in through a browser's steps against the OAuth mock: our start
//! URL, the provider's authorization (a 302 back with a code), our callback.

use latchkey::auth::encryption::Sealer;
use latchkey::model::UserId;
use serde_json::{Value, json};
use url::Url;

use super::TestApp;

/// The `redirectTo` every flow here asks for.
pub const BACK: &str = "https://app.test/cb";

/// A server over the same database reachable at its own callback URLs, with `vars` and
/// `BACK` allowed.
pub async fn serve(app: TestApp, mut vars: Vec<(String, String)>) -> TestApp {
    vars.push((
        "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS".into(),
        "https://app.test".into(),
    ));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.serving_itself(&vars).await
}

/// GET `url` (with `cookie`), which must redirect; where to, and the cookie it set.
pub async fn follow(app: &TestApp, url: &str, cookie: Option<&str>) -> (Url, Option<String>) {
    let mut req = app.client.get(url);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 302, "{url}: {:?}", res.text().await);
    let location = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let set = res
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    (location, set)
}

pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts a flow with `provider` and lets the mock authorize it: the authorization URL,
/// the mock's redirect back (code and state), and the browser's binding cookie.
pub async fn authorize(app: &TestApp, provider: &str) -> (Url, Url, String) {
    let start = format!("{}/signin/provider/{provider}?redirectTo={BACK}", app.base);
    let (to_provider, cookie) = follow(app, &start, None).await;
    let (back, _) = follow(app, to_provider.as_str(), None).await;
    (to_provider, back, cookie.expect("the binding cookie"))
}

/// The whole flow with a GET callback; the authorization URL and where the flow ended.
pub async fn sign_in(app: &TestApp, provider: &str) -> (Url, Url) {
    let (to_provider, back, cookie) = authorize(app, provider).await;
    let (ended, _) = follow(app, back.as_str(), Some(&cookie)).await;
    (to_provider, ended)
}

/// The session a flow ended with: it went back to `BACK` with exactly one parameter, its
/// refresh token, as upstream; the body of `POST /token` with that token.
pub async fn session_of(app: &TestApp, ended: &Url) -> Value {
    assert_eq!(ended.as_str().split('?').next(), Some(BACK), "{ended}");
    let names: Vec<String> = ended.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["refreshToken"], "exactly one parameter: {ended}");
    let token = param(ended, "refreshToken").unwrap_or_else(|| panic!("no session: {ended}"));
    let res = app.post("/token", &json!({ "refreshToken": token })).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body
}

/// The user of the session a flow ended with.
pub async fn user_of(app: &TestApp, ended: &Url) -> Value {
    session_of(app, ended).await["user"].clone()
}

/// The error a flow ended with, after checking it went back to `BACK`.
pub fn error_of(ended: &Url) -> String {
    assert_eq!(ended.as_str().split('?').next(), Some(BACK), "{ended}");
    param(ended, "error").unwrap_or_else(|| panic!("no error: {ended}"))
}

/// The flow ended at `to` with the error `code`, a description, and no session.
pub fn assert_error(ended: &Url, to: &str, code: &str) {
    assert_eq!(ended.as_str().split('?').next(), Some(to), "{ended}");
    assert_eq!(param(ended, "error").as_deref(), Some(code), "{ended}");
    assert!(param(ended, "errorDescription").is_some(), "{ended}");
    assert!(param(ended, "refreshToken").is_none(), "{ended}");
}

/// The user the `provider` account `id` is linked to.
pub async fn linked_user(app: &TestApp, provider: &str, id: &str) -> Option<UserId> {
    app.store.user_by_provider(provider, id).await.unwrap()
}

/// The sealer of the test server's development encryption key.
pub async fn sealer(app: &TestApp) -> Sealer {
    let key = app
        .store
        .setting_or_init("dev_encryption_key", "unused")
        .await
        .unwrap();
    Sealer::new(&hex::decode(key).unwrap().try_into().unwrap())
}

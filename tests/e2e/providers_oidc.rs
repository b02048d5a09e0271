//! Microsoft (Azure AD, Entra ID) and LinkedIn sign-in: OpenID Connect against the mock,
//! with Microsoft's multi-tenant issuer template and its unverified e-mail claim.

use serde_json::json;

use crate::support::TestApp;
use crate::support::oauth_mock::OAuthMock;
use crate::support::provider_flow::{error_of, param, serve, sign_in, user_of};

async fn azuread_common_tenant_checks_tid_against_the_issuer(app: TestApp) {
    let mock = OAuthMock::start();
    let app = serve(app, mock.oidc_vars("AZUREAD", "/common/v2.0")).await;
    let iss = |tid: &str| format!("{}/{tid}/v2.0", mock.issuer);
    let tenant_id = "6e8f0c1a-93b4-4c1e-9d2f-0a1b2c3d4e5f";
    let good = json!({
        "iss": iss(tenant_id), "tid": tenant_id, "sub": "pairwise-1", "oid": "oid-1",
        "email": "Ada@Contoso.test", "name": "Ada Lovelace",
    });
    mock.control(json!({ "tokenClaims": good })).await;
    let (to_provider, ended) = sign_in(&app, "azuread").await;
    assert!(
        to_provider
            .as_str()
            .starts_with(&format!("{}/authorize?", mock.issuer))
    );
    assert_eq!(
        param(&to_provider, "prompt").as_deref(),
        Some("select_account")
    );
    assert_eq!(
        param(&to_provider, "scope").as_deref(),
        Some("openid email profile offline_access")
    );
    let user = user_of(&app, &ended).await;
    assert_eq!(user["email"], "ada@contoso.test");
    assert_eq!(user["displayName"], "Ada Lovelace");
    assert_eq!(
        user["emailVerified"], false,
        "Microsoft's email claim is not verified"
    );
    let linked = app
        .store
        .user_by_provider("azuread", "oid-1")
        .await
        .unwrap();
    assert_eq!(linked.unwrap().to_string(), user["id"].as_str().unwrap());

    // Tokens whose issuer is not the template filled with their own tid.
    let cases = [
        (
            "iss of another tenant",
            json!({ "sub": "s-2", "oid": "o-2", "tid": tenant_id, "iss": iss("other-tenant") }),
        ),
        (
            "no tid",
            json!({ "sub": "s-3", "oid": "o-3", "iss": iss(tenant_id) }),
        ),
        (
            "the template itself",
            json!({ "sub": "s-4", "oid": "o-4", "tid": "{tenantid}", "iss": iss("{tenantid}") }),
        ),
        (
            "a tid that reshapes the URL",
            json!({ "sub": "s-5", "oid": "o-5", "tid": "a/b", "iss": iss("a/b") }),
        ),
        (
            "the mock's plain issuer",
            json!({ "sub": "s-6", "oid": "o-6", "tid": tenant_id, "iss": mock.issuer }),
        ),
        (
            "no oid",
            json!({ "sub": "s-7", "tid": tenant_id, "iss": iss(tenant_id) }),
        ),
    ];
    for (name, claims) in cases {
        mock.control(json!({ "tokenClaims": claims })).await;
        let (_, ended) = sign_in(&app, "azuread").await;
        assert_eq!(error_of(&ended), "oauth-token-echange-failed", "{name}");
        let oid = claims["oid"].as_str().unwrap_or("none");
        let linked = app.store.user_by_provider("azuread", oid).await.unwrap();
        assert_eq!(linked, None, "{name}");
    }
}
both_backends!(azuread_common_tenant_checks_tid_against_the_issuer);

async fn entraid_links_an_existing_user_only_with_a_verified_domain(app: TestApp) {
    let mock = OAuthMock::start();
    let tenant = "t-5678";
    let app = serve(app, mock.oidc_vars("ENTRAID", &format!("/{tenant}/v2.0"))).await;
    let body = json!({ "email": "bob@contoso.test", "password": "correct horse battery" });
    let res = app.post("/signup/email-password", &body).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let bob = res.body["session"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let iss = format!("{}/{tenant}/v2.0", mock.issuer);
    let claims =
        json!({ "iss": iss, "tid": tenant, "sub": "entra-bob", "email": "bob@contoso.test" });
    mock.control(json!({ "tokenClaims": claims })).await;
    let (_, ended) = sign_in(&app, "entraid").await;
    assert_eq!(
        error_of(&ended),
        "email-already-in-use",
        "no takeover by an unverified claim"
    );
    assert_eq!(
        app.store
            .user_by_provider("entraid", "entra-bob")
            .await
            .unwrap(),
        None
    );

    let mut verified = claims.clone();
    verified["xms_edov"] = json!(true);
    mock.control(json!({ "tokenClaims": verified })).await;
    let (_, ended) = sign_in(&app, "entraid").await;
    let user = user_of(&app, &ended).await;
    assert_eq!(user["id"], bob.as_str());
    let linked = app
        .store
        .user_by_provider("entraid", "entra-bob")
        .await
        .unwrap();
    assert_eq!(linked.unwrap().to_string(), bob);

    // A single-tenant issuer is matched exactly: another tenant's token is refused.
    let other = json!({ "iss": format!("{}/t-9999/v2.0", mock.issuer), "tid": "t-9999", "sub": "entra-eve" });
    mock.control(json!({ "tokenClaims": other })).await;
    let (_, ended) = sign_in(&app, "entraid").await;
    assert_eq!(error_of(&ended), "oauth-token-echange-failed");
    assert_eq!(
        app.store
            .user_by_provider("entraid", "entra-eve")
            .await
            .unwrap(),
        None
    );
}
both_backends!(entraid_links_an_existing_user_only_with_a_verified_domain);

async fn linkedin_signs_in_with_openid(app: TestApp) {
    let mock = OAuthMock::start();
    let app = serve(app, mock.oidc_vars("LINKEDIN", "/oauth")).await;
    let claims = json!({
        "iss": format!("{}/oauth", mock.issuer), "sub": "li-1", "email": "Cleo@Example.test",
        "email_verified": true, "name": "Cleo", "picture": "https://media.licdn.test/cleo",
    });
    mock.control(json!({ "tokenClaims": claims })).await;
    let (to_provider, ended) = sign_in(&app, "linkedin").await;
    assert_eq!(
        param(&to_provider, "scope").as_deref(),
        Some("openid profile email")
    );
    let user = user_of(&app, &ended).await;
    assert_eq!(user["email"], "cleo@example.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Cleo");
    assert_eq!(user["avatarUrl"], "https://media.licdn.test/cleo");
    let linked = app
        .store
        .user_by_provider("linkedin", "li-1")
        .await
        .unwrap();
    assert_eq!(linked.unwrap().to_string(), user["id"].as_str().unwrap());

    // LinkedIn's own issuer, not the mock's root one.
    let wrong = json!({ "iss": mock.issuer, "sub": "li-2", "email_verified": true });
    mock.control(json!({ "tokenClaims": wrong })).await;
    let (_, ended) = sign_in(&app, "linkedin").await;
    assert_eq!(error_of(&ended), "oauth-token-echange-failed");
    assert_eq!(
        app.store
            .user_by_provider("linkedin", "li-2")
            .await
            .unwrap(),
        None
    );
}
both_backends!(linkedin_signs_in_with_openid);

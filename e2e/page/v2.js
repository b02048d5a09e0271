// The previous generation: @nhost/hasura-auth-js v2, whose own methods run the WebAuthn
// ceremonies (it bundles @simplewebauthn/browser v9). Same `window.sdk` API as v4.js.
import { HasuraAuthClient } from "@nhost/hasura-auth-js";

const params = new URLSearchParams(location.search);
const authUrl = params.get("auth") ?? localStorage.getItem("e2e.auth");
localStorage.setItem("e2e.auth", authUrl);
// autoSignIn: the client picks the refresh token out of a verification redirect by itself.
const auth = new HasuraAuthClient({ url: authUrl, autoSignIn: true, autoRefreshToken: false });

const SECURITY_KEYS = `query securityKeys($userId: uuid!) {
  authUserSecurityKeys(where: { userId: { _eq: $userId } }) { id nickname }
}`;
const REMOVE_SECURITY_KEY = `mutation removeSecurityKey($id: uuid!) {
  deleteAuthUserSecurityKey(id: $id) { id }
}`;

function check(result) {
  if (result?.error) throw new Error(`SDK error: ${JSON.stringify(result.error)}`);
  return result;
}

function summary() {
  const session = auth.getSession();
  if (!session) return null;
  return {
    userId: session.user?.id,
    email: session.user?.email,
    emailVerified: session.user?.emailVerified,
    phoneNumber: session.user?.phoneNumber,
    phoneNumberVerified: session.user?.phoneNumberVerified,
    displayName: session.user?.displayName,
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    claims: auth.getDecodedAccessToken(),
  };
}

/** v2 apps send their GraphQL with the SDK's access token (nhost-js v2 wraps this fetch). */
async function graphql(query, variables) {
  const response = await fetch(`${authUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${auth.getAccessToken()}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

window.sdk = {
  name: "v2",
  session: summary,

  async signUp(email, { redirectTo, displayName, nickname }) {
    const options = { redirectTo, displayName, nickname };
    const result = check(await auth.signUp({ email, securityKey: true, options }));
    return { hasSession: Boolean(result.session), session: summary() };
  },

  async signIn(email) {
    check(await auth.signIn({ email, securityKey: true }));
    return summary();
  },

  async signInDiscoverable() {
    check(await auth.signInSecurityKey());
    return summary();
  },

  /** `signIn({email})` without a password is the magic link. */
  async magicLink(email, { redirectTo }) {
    return check(await auth.signIn({ email, options: { redirectTo } }));
  },

  async otpEmail(email) {
    return check(await auth.signInEmailOTP(email));
  },

  async verifyOtpEmail(email, otp) {
    check(await auth.verifyEmailOTP(email, otp));
    return summary();
  },

  /** `signIn({phoneNumber})` texts a code; `signIn({phoneNumber, otp})` signs in with it. */
  async smsCode(phoneNumber) {
    return check(await auth.signIn({ phoneNumber }));
  },

  async verifySmsCode(phoneNumber, otp) {
    check(await auth.signIn({ phoneNumber, otp }));
    return summary();
  },

  async finishEmailVerification() {
    await auth.isAuthenticatedAsync();
    return { type: params.get("type"), session: summary() };
  },

  async addKey(nickname) {
    return check(await auth.addSecurityKey(nickname)).key;
  },

  async listKeys() {
    const userId = auth.getUser()?.id;
    return (await graphql(SECURITY_KEYS, { userId })).authUserSecurityKeys;
  },

  async removeKey(id) {
    return (await graphql(REMOVE_SECURITY_KEY, { id })).deleteAuthUserSecurityKey;
  },

  async elevate() {
    const result = check(await auth.elevateEmailSecurityKey(auth.getUser()?.email));
    if (!result.elevated) throw new Error("elevateEmailSecurityKey: not elevated");
    return summary();
  },

  async refresh() {
    check(await auth.refreshSession());
    return summary();
  },

  async signOut() {
    check(await auth.signOut());
    return summary();
  },

  /** `signIn({provider})`: the SDK sends the tab to the provider itself. */
  async signInProvider(provider, { redirectTo }) {
    const result = check(await auth.signIn({ provider, options: { redirectTo } }));
    return { providerUrl: result.providerUrl };
  },

  async refreshWith(refreshToken) {
    const result = await auth.refreshSession(refreshToken);
    return result.error
      ? { ok: false, status: result.error.status ?? null, error: result.error }
      : { ok: true, status: 200 };
  },
};

// The v4 generation: @nhost/nhost-js's auth client plus @simplewebauthn/browser, as Nhost's own
// demos drive passkeys. Exposes one small API on `window.sdk` that run.mjs calls; every call
// goes through the SDK, never through hand-written requests.
import { createClient } from "@nhost/nhost-js";
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";

const params = new URLSearchParams(location.search);
const authUrl = params.get("auth") ?? localStorage.getItem("e2e.auth");
localStorage.setItem("e2e.auth", authUrl);
const nhost = createClient({ authUrl, graphqlUrl: `${authUrl}/graphql` });

const SECURITY_KEYS = `query securityKeys($userId: uuid!) {
  authUserSecurityKeys(where: { userId: { _eq: $userId } }) { id nickname }
}`;
const REMOVE_SECURITY_KEY = `mutation removeSecurityKey($id: uuid!) {
  deleteAuthUserSecurityKey(id: $id) { id }
}`;

/** The FetchError's body (Nhost error JSON) and status, or the error itself. */
function failure(err) {
  return { status: err?.status ?? null, error: err?.body ?? String(err) };
}

function summary() {
  const session = nhost.getUserSession();
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
    claims: session.decodedToken,
  };
}

window.sdk = {
  name: "v4",
  session: summary,

  async signUp(email, { redirectTo, displayName, nickname }) {
    const options = { redirectTo, displayName };
    const { body: optionsJSON } = await nhost.auth.signUpWebauthn({ email, options });
    const credential = await startRegistration({ optionsJSON });
    const { body } = await nhost.auth.verifySignUpWebauthn({ credential, options, nickname });
    return { hasSession: Boolean(body?.session), session: summary() };
  },

  async signIn(email) {
    const { body: optionsJSON } = await nhost.auth.signInWebauthn({ email });
    const credential = await startAuthentication({ optionsJSON });
    await nhost.auth.verifySignInWebauthn({ email, credential });
    return summary();
  },

  async signInDiscoverable() {
    const { body: optionsJSON } = await nhost.auth.signInWebauthn({});
    const credential = await startAuthentication({ optionsJSON });
    await nhost.auth.verifySignInWebauthn({ credential });
    return summary();
  },

  /** A magic link by mail (`POST /signin/passwordless/email`): no session until it is opened. */
  async magicLink(email, { redirectTo }) {
    const { body } = await nhost.auth.signInPasswordlessEmail({ email, options: { redirectTo } });
    return body;
  },

  /** A six-digit code by mail (`POST /signin/otp/email`). */
  async otpEmail(email) {
    const { body } = await nhost.auth.signInOTPEmail({ email });
    return body;
  },

  /** The mailed code back (`POST /signin/otp/email/verify`): the SDK keeps the session. */
  async verifyOtpEmail(email, otp) {
    await nhost.auth.verifySignInOTPEmail({ email, otp });
    return summary();
  },

  /** A six-digit code by SMS (`POST /signin/passwordless/sms`). */
  async smsCode(phoneNumber) {
    const { body } = await nhost.auth.signInPasswordlessSms({ phoneNumber });
    return body;
  },

  /** The texted code back (`POST /signin/passwordless/sms/otp`): the SDK keeps the session. */
  async verifySmsCode(phoneNumber, otp) {
    await nhost.auth.verifySignInPasswordlessSms({ phoneNumber, otp });
    return summary();
  },

  /** After the verification link: the redirect carries a refresh token for the session. */
  async finishEmailVerification() {
    const refreshToken = params.get("refreshToken");
    if (!refreshToken) throw new Error(`no refreshToken in ${location.href}`);
    const { body } = await nhost.auth.refreshToken({ refreshToken });
    nhost.sessionStorage.set(body);
    return { type: params.get("type"), session: summary() };
  },

  async addKey(nickname) {
    const { body: optionsJSON } = await nhost.auth.addSecurityKey();
    const credential = await startRegistration({ optionsJSON });
    const { body } = await nhost.auth.verifyAddSecurityKey({ credential, nickname });
    return body;
  },

  async listKeys() {
    const userId = nhost.getUserSession()?.user?.id;
    const { body } = await nhost.graphql.request({ query: SECURITY_KEYS, variables: { userId } });
    return body.data.authUserSecurityKeys;
  },

  async removeKey(id) {
    const { body } = await nhost.graphql.request({ query: REMOVE_SECURITY_KEY, variables: { id } });
    return body.data.deleteAuthUserSecurityKey;
  },

  async elevate() {
    const { body: optionsJSON } = await nhost.auth.elevateWebauthn();
    const credential = await startAuthentication({ optionsJSON });
    const { body } = await nhost.auth.verifyElevateWebauthn({ credential });
    // The SDK's session middleware only watches /signin, /signup and /token: the app stores
    // the elevated session itself.
    if (!body?.session) throw new Error(`no session in the elevation answer: ${JSON.stringify(body)}`);
    nhost.sessionStorage.set(body.session);
    return summary();
  },

  async refresh() {
    const session = await nhost.refreshSession(0);
    if (!session) throw new Error("refreshSession gave no session");
    return summary();
  },

  async signOut() {
    const refreshToken = nhost.getUserSession()?.refreshToken;
    await nhost.auth.signOut({ refreshToken });
    nhost.clearSession();
    return summary();
  },

  async signUpPassword(email, password) {
    await nhost.auth.signUpEmailPassword({ email, password });
    return summary();
  },

  /** TOTP set-up: the secret and QR code (changeUserMfa), then activation with a code. */
  async generateTotp() {
    const { body } = await nhost.auth.changeUserMfa();
    return body;
  },

  async changeMfa(code, activeMfaType) {
    const { body } = await nhost.auth.verifyChangeUserMfa({ code, activeMfaType });
    return body;
  },

  /** Password sign-in: `{mfa: {ticket}}` while TOTP is on, else the session. */
  async signInPassword(email, password) {
    const { body } = await nhost.auth.signInEmailPassword({ email, password });
    return { mfa: body.mfa ?? null, hasSession: Boolean(body.session) };
  },

  async signInTotp(ticket, otp) {
    try {
      await nhost.auth.verifySignInMfaTotp({ ticket, otp });
      return { ok: true, session: summary() };
    } catch (err) {
      return { ok: false, ...failure(err) };
    }
  },

  /** The URL that starts a provider sign-in (`GET /signin/provider/{provider}`); the test
   * navigates the tab there, as an app's "Continue with …" link does. */
  providerUrl(provider, { redirectTo }) {
    return nhost.auth.signInProviderURL(provider, { redirectTo });
  },

  /** The provider's tokens of the sign-in that made this session (single use). */
  async providerTokens(provider) {
    try {
      const { body } = await nhost.auth.getProviderTokens(provider);
      return { ok: true, body };
    } catch (err) {
      return { ok: false, ...failure(err) };
    }
  },

  async refreshProviderToken(provider, refreshToken) {
    try {
      const { body } = await nhost.auth.refreshProviderToken(provider, { refreshToken });
      return { ok: true, body };
    } catch (err) {
      return { ok: false, ...failure(err) };
    }
  },

  /** A refresh with a given (e.g. signed-out) token: the server's answer, not a throw. */
  async refreshWith(refreshToken) {
    try {
      const { status } = await nhost.auth.refreshToken({ refreshToken });
      return { ok: true, status };
    } catch (err) {
      return { ok: false, ...failure(err) };
    }
  },
};

// The playground served by `latchkey serve` at `/` (AUTH_PLAYGROUND_ENABLED): the v4 SDK's auth
// and GraphQL clients with @simplewebauthn/browser, as Nhost's demos use them. Built into
// playground/dist by e2e/build-playground.mjs and embedded in the binary.
import { createNhostClient, withServerSideSessionMiddleware } from "@nhost/nhost-js";
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";

const prefix = document.querySelector('meta[name="latchkey-api-prefix"]')?.content ?? "";
const authUrl = `${location.origin}${prefix}`;
// Session attachment and storage without the automatic refresh middleware: that one only skips
// URLs ending in `/v1/token` and would wait on itself under any other API prefix. The Refresh
// button refreshes explicitly.
const nhost = createNhostClient({
  authUrl,
  graphqlUrl: `${authUrl}/graphql`,
  configure: [withServerSideSessionMiddleware],
});

const $ = (id) => document.getElementById(id);

const KEYS = `query securityKeys($userId: uuid!) {
  authUserSecurityKeys(where: { userId: { _eq: $userId } }) { id nickname }
}`;
const RENAME = `mutation renameSecurityKey($id: uuid!, $nickname: String) {
  updateAuthUserSecurityKey(pk_columns: { id: $id }, _set: { nickname: $nickname }) { id nickname }
}`;
const REMOVE = `mutation removeSecurityKey($id: uuid!) {
  deleteAuthUserSecurityKey(id: $id) { id }
}`;

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function describe(err) {
  const body = err?.body;
  if (body?.message) return `${body.message} (${body.error})`;
  if (body?.errors) return body.errors.map((e) => e.message).join("; ");
  return err?.message ?? String(err);
}

/** Runs a button's action, reporting failures in the status line. */
function action(id, run) {
  $(id).addEventListener("click", async () => {
    status("…");
    try {
      status((await run()) ?? "done");
    } catch (err) {
      status(describe(err), true);
    }
    await render();
  });
}

/** The access token's payload as the server wrote it (decoded for display, not verified). */
function claimsOf(accessToken) {
  const payload = accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
}

async function render() {
  const session = nhost.getUserSession();
  const signedIn = Boolean(session);
  const claims = signedIn ? claimsOf(session.accessToken) : null;
  for (const id of ["add-key", "elevate", "refresh", "signout", "totp-generate", "totp-on", "totp-off", "totp-recovery"]) {
    $(id).disabled = !signedIn;
  }
  const rows = signedIn
    ? [
        ["signed in", "yes"],
        ["user id", session.user?.id],
        ["e-mail", `${session.user?.email} ${session.user?.emailVerified ? "(verified)" : "(unverified)"}`],
        ["roles", session.user?.roles?.join(", ")],
        ["expires", new Date(claims.exp * 1000).toISOString()],
        ["refresh token", `${session.refreshToken.slice(0, 8)}…`],
      ]
    : [["signed in", "no"]];
  $("session").replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v ?? "";
      return [dt, dd];
    }),
  );
  $("claims").textContent = signedIn ? JSON.stringify(claims, null, 2) : "";
  await renderKeys(session);
}

async function renderKeys(session) {
  if (!session) {
    $("keys").replaceChildren();
    return;
  }
  const { body } = await nhost.graphql.request({ query: KEYS, variables: { userId: session.user.id } });
  $("keys").replaceChildren(
    ...body.data.authUserSecurityKeys.map((key) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = key.nickname || "(no nickname)";
      const rename = document.createElement("button");
      rename.className = "secondary";
      rename.textContent = "Rename";
      rename.onclick = async () => {
        const nickname = prompt("New nickname", key.nickname ?? "");
        if (nickname === null) return;
        try {
          await nhost.graphql.request({ query: RENAME, variables: { id: key.id, nickname } });
          status("key renamed");
        } catch (err) {
          status(describe(err), true);
        }
        await render();
      };
      const remove = document.createElement("button");
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.onclick = async () => {
        try {
          await nhost.graphql.request({ query: REMOVE, variables: { id: key.id } });
          status("key removed");
        } catch (err) {
          status(describe(err), true);
        }
        await render();
      };
      li.append(name, rename, remove);
      return li;
    }),
  );
}

action("signup", async () => {
  const email = $("email").value.trim();
  const { body: optionsJSON } = await nhost.auth.signUpWebauthn({ email });
  const credential = await startRegistration({ optionsJSON });
  const { body } = await nhost.auth.verifySignUpWebauthn({ credential, nickname: $("nickname").value || undefined });
  return body?.session ? "signed up" : "check your mail to verify the address, then sign in";
});

action("signin", async () => {
  const email = $("email").value.trim();
  const { body: optionsJSON } = await nhost.auth.signInWebauthn({ email });
  const credential = await startAuthentication({ optionsJSON });
  await nhost.auth.verifySignInWebauthn({ credential });
  return "signed in";
});

action("signin-discoverable", async () => {
  const { body: optionsJSON } = await nhost.auth.signInWebauthn({});
  const credential = await startAuthentication({ optionsJSON });
  await nhost.auth.verifySignInWebauthn({ credential });
  return "signed in";
});

action("add-key", async () => {
  const { body: optionsJSON } = await nhost.auth.addSecurityKey();
  const credential = await startRegistration({ optionsJSON });
  const nickname = $("nickname").value.trim() || undefined;
  await nhost.auth.verifyAddSecurityKey({ credential, nickname });
  return "key added";
});

action("elevate", async () => {
  const { body: optionsJSON } = await nhost.auth.elevateWebauthn();
  const credential = await startAuthentication({ optionsJSON });
  const { body } = await nhost.auth.verifyElevateWebauthn({ credential });
  if (body?.session) nhost.sessionStorage.set(body.session);
  return "elevated: see x-hasura-auth-elevated";
});

action("refresh", async () => {
  const session = await nhost.refreshSession(0);
  return session ? "session refreshed" : "the session could not be refreshed";
});

// The playground page is an allowed redirectTo while it is on: links land back here.
const here = `${location.origin}/`;

function emailOrThrow() {
  const email = $("email").value.trim();
  if (!email) throw new Error("enter your e-mail address first");
  return email;
}

action("magic-link", async () => {
  await nhost.auth.signInPasswordlessEmail({ email: emailOrThrow(), options: { redirectTo: here } });
  await renderInbox();
  return "a sign-in link is on its way: open it in this browser";
});

action("otp-email", async () => {
  await nhost.auth.signInOTPEmail({ email: emailOrThrow(), options: { redirectTo: here } });
  await renderInbox();
  return "a six-digit code is on its way";
});

action("verify-otp", async () => {
  await nhost.auth.verifySignInOTPEmail({ email: emailOrThrow(), otp: $("otp").value.trim() });
  $("otp").value = "";
  return "signed in by code: add a passkey for next time";
});

// "Continue with …" for each enabled provider (the server lists them in a meta tag); the
// provider's redirect lands back here with `?provider=<name>&refreshToken=…`.
const PROVIDER_NAMES = {
  azuread: "Azure AD",
  entraid: "Entra ID",
  github: "GitHub",
  gitlab: "GitLab",
  linkedin: "LinkedIn",
  windowslive: "Windows Live",
  workos: "WorkOS",
  twitter: "X (Twitter)",
};
const providerName = (p) => PROVIDER_NAMES[p] ?? p.charAt(0).toUpperCase() + p.slice(1);
const providers = (document.querySelector('meta[name="latchkey-providers"]')?.content ?? "")
  .split(",")
  .filter((p) => /^[a-z0-9]+$/.test(p));
$("providers-section").hidden = providers.length === 0;
$("providers").replaceChildren(
  ...providers.map((provider) => {
    const button = document.createElement("button");
    button.id = `provider-${provider}`;
    button.className = "secondary";
    button.textContent = `Continue with ${providerName(provider)}`;
    button.onclick = () => {
      location.href = nhost.auth.signInProviderURL(provider, { redirectTo: `${here}?provider=${provider}` });
    };
    return button;
  }),
);

/** Back from a magic link or verification mail: `?refreshToken=…` becomes the session. */
async function finishRedirect() {
  const params = new URLSearchParams(location.search);
  const refreshToken = params.get("refreshToken");
  const error = params.get("errorDescription") ?? params.get("error");
  history.replaceState(null, "", location.pathname);
  if (error) {
    status(error, true);
  } else if (refreshToken) {
    const { body } = await nhost.auth.refreshToken({ refreshToken });
    nhost.sessionStorage.set(body);
    const byLink = ["signinPasswordless", "passwordlessEmail"].includes(params.get("type"));
    const provider = params.get("provider");
    if (provider) status(`signed in with ${providerName(provider)}`);
    else status(byLink ? "signed in by link" : "signed in, address verified");
  }
}

/** The development inbox, shown only when the server offers it (mail or SMS written to files,
 * this machine). */
async function renderInbox() {
  const res = await fetch("/playground/inbox", { cache: "no-store" });
  if (!res.ok) return;
  $("inbox-section").hidden = false;
  const messages = await res.json();
  $("inbox").replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement("li");
      const meta = document.createElement("div");
      meta.className = "meta";
      const what = m.kind === "sms" ? `SMS to ${m.to}` : `mail to ${m.to} · ${m.subject}`;
      meta.textContent = `${new Date(m.createdAt).toLocaleTimeString()} · ${what}`;
      const text = document.createElement("div");
      text.className = "text";
      text.textContent = m.text;
      li.append(meta, text);
      if (m.link && /^https?:/.test(m.link)) {
        const a = document.createElement("a");
        a.href = m.link;
        a.textContent = "Open the link";
        li.append(a);
      }
      return li;
    }),
  );
}

$("inbox-refresh").addEventListener("click", () => renderInbox().catch((err) => status(describe(err), true)));

action("signout", async () => {
  await nhost.auth.signOut({ refreshToken: nhost.getUserSession()?.refreshToken });
  nhost.clearSession();
  return "signed out";
});

action("totp-generate", async () => {
  const { body } = await nhost.auth.changeUserMfa();
  $("totp-qr").src = body.imageUrl;
  $("totp-secret").textContent = body.totpSecret;
  $("totp-setup").hidden = false;
  return "scan the QR code, then type the app's code and turn TOTP on";
});

action("totp-on", async () => {
  await nhost.auth.verifyChangeUserMfa({ code: $("totp-code").value.trim(), activeMfaType: "totp" });
  $("totp-setup").hidden = true;
  return "TOTP is on: password sign-ins now ask for a code";
});

action("totp-off", async () => {
  await nhost.auth.verifyChangeUserMfa({ code: $("totp-code").value.trim(), activeMfaType: "" });
  $("totp-codes").hidden = true;
  return "TOTP is off";
});

// Latchkey's own endpoint: no SDK method, so a plain request with the access token.
action("totp-recovery", async () => {
  const res = await fetch(`${authUrl}/user/mfa/recovery-codes`, {
    method: "POST",
    headers: { Authorization: `Bearer ${nhost.getUserSession()?.accessToken}` },
  });
  const body = await res.json();
  if (!res.ok) throw { body };
  $("totp-codes").textContent = body.recoveryCodes.join("\n");
  $("totp-codes").hidden = false;
  return "write these codes down: each signs in once, and they are not shown again";
});

finishRedirect()
  .catch((err) => status(describe(err), true))
  .then(render)
  .then(renderInbox)
  .catch((err) => status(describe(err), true));

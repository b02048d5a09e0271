// Real-browser end-to-end tests: the official Nhost SDKs (both generations), bundled with
// esbuild, run in headless Debian Chromium with a CDP virtual authenticator against a real
// latchkey server, once per store. Started by scripts/test-browser, which provides:
//
//   LATCHKEY_BIN              the server binary (the debug build cargo test made)
//   LATCHKEY_BROWSER_STORES   comma-separated `sqlite` and/or a `postgres://…` URL of a fresh database
//   LATCHKEY_TEST_SMTP_PORT   the SMTP sink (tests/smtp_sink.py) and the folder it writes to
//   LATCHKEY_TEST_SMTP_DIR
//   (SMS go through the `dev` provider: files in each server's own LATCHKEY_SMS_DIR)
//   CHROMIUM                  the browser (default /usr/bin/chromium)
//   LATCHKEY_SCREENSHOT       where to write the playground screenshot (optional)
//   LATCHKEY_BROWSER_FILTER   run only cases whose name contains this (optional)
//
// Prints one line per case, then `N passed, M failed`; a failing case prints the browser
// console and the server log lines of that step. Exit status 1 when anything failed.

import { createHmac } from "node:crypto";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set (run scripts/test-browser)`);
  return value;
};

const BIN = resolve(env("LATCHKEY_BIN"));
const STORES = env("LATCHKEY_BROWSER_STORES", "sqlite").split(",").filter(Boolean);
const SMTP_PORT = env("LATCHKEY_TEST_SMTP_PORT");
const SMTP_DIR = env("LATCHKEY_TEST_SMTP_DIR");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");
const SCREENSHOT = process.env.LATCHKEY_SCREENSHOT;
const FILTER = process.env.LATCHKEY_BROWSER_FILTER ?? "";
const STEP_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async function freePort() {
  const server = createNetServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

async function portIsFree(port) {
  const server = createNetServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function uniqueEmail(tag) {
  return `${tag}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}@example.test`;
}

// ---------------------------------------------------------------------------------------------
// Mail from the SMTP sink: DIR/<recipient>/<time>-<n>.eml (see tests/smtp_sink.py)
// ---------------------------------------------------------------------------------------------

function mailFolder(address) {
  return join(SMTP_DIR, address.toLowerCase().replace(/[^a-z0-9@._+-]/g, "_"));
}

function decodeBody(raw) {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split + 2);
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(head)?.[1]?.toLowerCase();
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") {
    const bytes = body
      .replace(/=\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  return body;
}

/** The bodies of the mails to `address`, oldest first, decoded. */
function mailsTo(address) {
  let files = [];
  try {
    files = readdirSync(mailFolder(address)).filter((f) => f.endsWith(".eml"));
  } catch {
    // no mail yet
  }
  return files.sort().map((f) => decodeBody(readFileSync(join(mailFolder(address), f), "utf8")));
}

/** Waits for mail number `index` (0 = the first) to `address` and returns what `pick` finds
 * in it. */
async function waitForMail(address, index, what, pick) {
  for (let i = 0; i < 150; i++) {
    const body = mailsTo(address)[index];
    if (body !== undefined) {
      const found = pick(body);
      if (!found) throw new Error(`no ${what} in mail ${index} to ${address}:\n${body}`);
      return found;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail ${index} to ${address} within 15 s`);
}

async function waitForVerifyLink(address, index = 0) {
  return waitForMail(address, index, "/verify link", (body) =>
    /https?:\/\/[^\s"'<>]*\/verify\?[^\s"'<>]*/.exec(body)?.[0]?.replace(/&amp;/g, "&"),
  );
}

async function waitForCode(address, index) {
  return waitForMail(address, index, "six-digit code", (body) => /<strong>(\d{6})<\/strong>/.exec(body)?.[1]);
}

// ---------------------------------------------------------------------------------------------
// SMS from the `dev` provider: DIR/<time>-<id>.txt holding "To: <E.164>\n\n<text>\n"
// ---------------------------------------------------------------------------------------------

/** The texts to `phone` (E.164) in `dir`, oldest first. */
function textsTo(dir, phone) {
  let files = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".txt"));
  } catch {
    // nothing written yet
  }
  return files
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .filter((text) => text.startsWith(`To: ${phone}\n`));
}

/** Waits for text number `index` to `phone` and returns its six-digit code. */
async function waitForSmsCode(dir, phone, index) {
  for (let i = 0; i < 150; i++) {
    const text = textsTo(dir, phone)[index];
    if (text !== undefined) {
      const code = /\b(\d{6})\b/.exec(text.slice(text.indexOf("\n\n")))?.[1];
      if (!code) throw new Error(`no six-digit code in text ${index} to ${phone}:\n${text}`);
      return code;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no text ${index} to ${phone} in ${dir} within 15 s`);
}

/** A French mobile number no other case uses: E.164 and as a person types it. It starts with
 * 061, a block libphonenumber's metadata knows as mobile (not every 06x is: 069 mostly isn't). */
function uniquePhone() {
  const digits = `1${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  const e164 = `+336${digits}`;
  const typed = `+33 6 ${digits.replace(/(\d\d)(?=\d)/g, "$1 ")}`;
  return { e164, typed };
}

// ---------------------------------------------------------------------------------------------
// The test page on http://localhost:3000: index.html?sdk=v4|v2 loads that SDK's bundle
// ---------------------------------------------------------------------------------------------

async function bundle(entry) {
  const result = await esbuild.build({
    entryPoints: [join(here, "page", entry)],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "chrome120",
    minify: true,
    logLevel: "error",
  });
  return result.outputFiles[0].text;
}

async function startPageServer() {
  const scripts = { "/v4.js": await bundle("v4.js"), "/v2.js": await bundle("v2.js") };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (scripts[url.pathname]) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(scripts[url.pathname]);
    } else if (url.pathname === "/" || url.pathname === "/v4.html" || url.pathname === "/v2.html") {
      // The verification redirect lands on the page it was asked for; `/` is v4's.
      const sdk = url.pathname === "/v2.html" ? "v2" : "v4";
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><meta charset="utf-8"><title>latchkey e2e ${sdk}</title>
<p id="sdk">${sdk}</p><script src="/${sdk}.js"></script>`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  // The dev default origin is http://localhost:3000; fall back to another port if it is taken.
  const port = (await portIsFree(3000)) ? 3000 : await freePort();
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return { server, origin: `http://localhost:${port}` };
}

// ---------------------------------------------------------------------------------------------
// The server under test, with its log kept for failure reports
// ---------------------------------------------------------------------------------------------

/** `overrides`: variables on top of the defaults below; `undefined` removes one. */
async function startLatchkey(store, clientOrigin, overrides = {}) {
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), "latchkey-browser-"));
  const database = store === "sqlite" ? `sqlite://${join(work, "latchkey.db")}?mode=rwc` : store;
  const serverUrl = `http://localhost:${port}`;
  const smsDir = join(work, "sms");
  const env = {
      PATH: process.env.PATH,
      AUTH_PORT: String(port),
      // nhost-js v4 expects an auth URL ending in /v1, as Nhost serves it: its refresh
      // middleware only skips `…/v1/token`, and deadlocks on a forced refresh elsewhere.
      AUTH_API_PREFIX: "/v1",
      AUTH_SERVER_URL: `${serverUrl}/v1`,
      AUTH_CLIENT_URL: clientOrigin,
      LATCHKEY_DATABASE_URL: database,
      AUTH_WEBAUTHN_ENABLED: "true",
      AUTH_PLAYGROUND_ENABLED: "true",
      AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED: "false",
      AUTH_EMAIL_PASSWORDLESS_ENABLED: "true",
      AUTH_OTP_EMAIL_ENABLED: "true",
      // No SMS provider credentials: the `dev` provider writes the texts to files.
      AUTH_SMS_PASSWORDLESS_ENABLED: "true",
      LATCHKEY_SMS_DIR: smsDir,
      AUTH_ENABLE_CHANGE_ENV: "true",
      AUTH_SMTP_HOST: "127.0.0.1",
      AUTH_SMTP_PORT: SMTP_PORT,
      AUTH_SMTP_SENDER: "Latchkey browser tests <auth@latchkey.test>",
      AUTH_LOG_FORMAT_TEXT: "true",
      AUTH_DEBUG: "true",
      NO_COLOR: "1",
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(BIN, ["serve"], {
    cwd: work,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  child.on("error", (err) => log.push(`could not start ${BIN}: ${err}`));
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop();
      log.push(...lines);
    });
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.pid === undefined) {
      throw new Error(`latchkey exited with ${child.exitCode}:\n${log.join("\n")}`);
    }
    try {
      const res = await fetch(`${serverUrl}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`latchkey did not answer /healthz:\n${log.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  running.add(child);
  const stop = async () => {
    running.delete(child);
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    rmSync(work, { recursive: true, force: true });
  };
  const changeEnv = async (vars) => {
    const res = await fetch(`${serverUrl}/v1/change-env`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(vars),
    });
    if (!res.ok) throw new Error(`/change-env answered ${res.status}: ${await res.text()}`);
  };
  return { url: serverUrl, api: `${serverUrl}/v1`, smsDir, log, stop, changeEnv };
}

// ---------------------------------------------------------------------------------------------
// The OAuth provider: tests/oauth/mock.js (oauth2-mock-server on loopback, /authorize approves
// at once), as the Rust provider tests run it
// ---------------------------------------------------------------------------------------------

async function startOAuthMock() {
  const dir = resolve(here, "..", "tests", "oauth");
  const child = spawn(process.execPath, [join(dir, "mock.js")], {
    cwd: dir,
    stdio: ["ignore", "pipe", "inherit"],
  });
  running.add(child);
  child.stdout.setEncoding("utf8");
  let text = "";
  const issuer = await withTimeout(
    new Promise((resolveIssuer, reject) => {
      child.once("exit", (code) => reject(new Error(`the OAuth mock exited with ${code}`)));
      child.stdout.on("data", (chunk) => {
        text += chunk;
        const line = text.split("\n")[0];
        if (text.includes("\n")) resolveIssuer(JSON.parse(line).issuer);
      });
    }),
    15_000,
    "the OAuth mock (run `npm ci` in tests/oauth)",
  );
  const vars = {
    AUTH_PROVIDER_GITHUB_ENABLED: "true",
    AUTH_PROVIDER_GITHUB_CLIENT_ID: "latchkey-test",
    AUTH_PROVIDER_GITHUB_CLIENT_SECRET: "test-secret",
    AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL: `${issuer}/authorize`,
    AUTH_PROVIDER_GITHUB_TOKEN_URL: `${issuer}/token`,
    AUTH_PROVIDER_GITHUB_USER_PROFILE_URL: `${issuer}/user`,
    AUTH_PROVIDER_GOOGLE_ENABLED: "true",
    AUTH_PROVIDER_GOOGLE_CLIENT_ID: "latchkey-test",
    AUTH_PROVIDER_GOOGLE_CLIENT_SECRET: "test-secret",
    LATCHKEY_PROVIDER_GOOGLE_ISSUER: issuer,
  };
  const stop = () => {
    running.delete(child);
    child.kill("SIGTERM");
  };
  /** Sets what the next flows see (tests/oauth/mock.js: githubUser, githubEmails, tokenClaims). */
  const control = async (settings) => {
    const res = await fetch(`${issuer}/_control`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(settings),
    });
    if (!res.ok) throw new Error(`mock /_control answered ${res.status}`);
  };
  /** The same person at both providers (GitHub's profile API, Google's ID token). */
  const person = (id, email) =>
    control({
      githubUser: { id, login: `user${id}`, name: "Ada Lovelace", avatar_url: "https://avatars.test/ada" },
      githubEmails: [{ email, primary: true, verified: true }],
      tokenClaims: { sub: `google-${id}`, email, email_verified: true, name: "Ada Lovelace" },
    });
  return { issuer, vars, stop, person };
}

// ---------------------------------------------------------------------------------------------
// Browser pages with a virtual authenticator
// ---------------------------------------------------------------------------------------------

/** A fresh context and page whose tab has a CTAP2 platform authenticator with resident keys
 * and user verification (a passkey provider that always says yes). */
async function openPage(browser, consoleLines) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (msg) => consoleLines.push(`[console.${msg.type()}] ${msg.text()}`));
  page.on("pageerror", (err) => consoleLines.push(`[pageerror] ${err.stack ?? err}`));
  page.on("requestfailed", (req) =>
    consoleLines.push(`[requestfailed] ${req.method()} ${req.url()} ${req.failure()?.errorText}`),
  );
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const addAuthenticator = async () =>
    (
      await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          ctap2Version: "ctap2_1",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      })
    ).authenticatorId;
  let authenticatorId = await addAuthenticator();
  return {
    page,
    context,
    /** Swap the authenticator for a new one: a second security key. */
    async newAuthenticator() {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
      authenticatorId = await addAuthenticator();
    },
    async credentials() {
      return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    },
  };
}

/** Calls `window.sdk[method](...args)` in the page (after the bundle has loaded). */
async function sdkCall(page, method, ...args) {
  await page.waitForFunction(() => window.sdk !== undefined, null, { timeout: STEP_TIMEOUT_MS });
  return page.evaluate(([m, a]) => window.sdk[m](...a), [method, args]);
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

const results = [];

/** Servers still running, stopped if this process is interrupted. */
const running = new Set();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) child.kill("SIGKILL");
    process.exit(1);
  });
}

/** Runs the steps of one scenario in order; after a failure the rest are reported as skipped
 * failures (they depend on the earlier state). */
async function scenario(label, server, body) {
  const steps = [];
  const step = (name, fn) => steps.push({ name, fn });
  const consoleLines = [];
  const ctx = { consoleLines };
  await body(step, ctx);
  let broken = null;
  for (const { name, fn } of steps) {
    const full = `${label}: ${name}`;
    if (FILTER && !full.includes(FILTER)) continue;
    if (broken) {
      results.push({ name: full, ok: false, skipped: true });
      console.log(`FAIL ${full} (not run: "${broken}" failed)`);
      continue;
    }
    const logStart = server.log.length;
    const consoleStart = consoleLines.length;
    try {
      await withTimeout(fn(), STEP_TIMEOUT_MS, full);
      results.push({ name: full, ok: true });
      console.log(`ok   ${full}`);
    } catch (err) {
      broken = name;
      results.push({ name: full, ok: false });
      console.log(`FAIL ${full}\n  ${String(err?.stack ?? err).replace(/\n/g, "\n  ")}`);
      // Give late log lines a moment to arrive.
      await new Promise((r) => setTimeout(r, 200));
      console.log("  --- browser console of this step ---");
      for (const line of consoleLines.slice(consoleStart)) console.log(`  ${line}`);
      console.log("  --- server log of this step ---");
      for (const line of server.log.slice(logStart)) console.log(`  ${line}`);
      console.log("  ---");
    }
  }
  await ctx.close?.();
}

/** Sign-up, sign-in (by e-mail and discoverable), a second key, GraphQL list and remove,
 * elevation, refresh, sign-out and a refused refresh: one user, one tab. */
async function keyLifecycle(browser, server, pageOrigin, sdk, store) {
  await scenario(`${store} ${sdk} key lifecycle`, server, async (step, ctx) => {
    const email = uniqueEmail(`life-${sdk}`);
    let tab;
    let userId;
    let firstKeyId;
    let lastRefreshToken;
    step("sign up with a passkey (no e-mail verification)", async () => {
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = () => tab.context.close();
      await tab.page.goto(`${pageOrigin}/${sdk}.html?auth=${encodeURIComponent(server.api)}`);
      const result = await sdkCall(tab.page, "signUp", email, {
        redirectTo: `${pageOrigin}/${sdk}.html`,
        displayName: `Ada ${sdk}`,
        nickname: `laptop ${sdk}`,
      });
      assert(result.hasSession, `sign-up gave a session: ${JSON.stringify(result)}`);
      assert(result.session.email === email, "session is for the new user");
      assert(result.session.displayName === `Ada ${sdk}`, `displayName kept: ${result.session.displayName}`);
      userId = result.session.userId;
      const creds = await tab.credentials();
      assert(creds.length === 1 && creds[0].isResidentCredential, "one resident credential was created");
    });
    step("sign out, then sign in with e-mail", async () => {
      assert((await sdkCall(tab.page, "signOut")) === null, "no session after sign-out");
      const session = await sdkCall(tab.page, "signIn", email);
      assert(session?.userId === userId, "signed in as the same user");
    });
    step("sign out, then discoverable sign-in (no e-mail)", async () => {
      await sdkCall(tab.page, "signOut");
      const session = await sdkCall(tab.page, "signInDiscoverable");
      assert(session?.userId === userId, "the passkey's user handle named the user");
    });
    step("elevate with the passkey", async () => {
      const session = await sdkCall(tab.page, "elevate");
      const elevated = session?.claims?.["https://hasura.io/jwt/claims"]?.["x-hasura-auth-elevated"];
      assert(elevated === userId, `x-hasura-auth-elevated is the user id, got ${elevated}`);
    });
    step("add a second key with a nickname (another authenticator)", async () => {
      const before = await sdkCall(tab.page, "listKeys");
      assert(before.length === 1, `one key before, got ${JSON.stringify(before)}`);
      assert(before[0].nickname === `laptop ${sdk}`, `the sign-up nickname: ${JSON.stringify(before)}`);
      firstKeyId = before[0].id;
      await tab.newAuthenticator();
      const key = await sdkCall(tab.page, "addKey", `backup ${sdk}`);
      assert(key?.id && key.nickname === `backup ${sdk}`, `the new key is returned: ${JSON.stringify(key)}`);
    });
    step("list keys with the securityKeys GraphQL query", async () => {
      const keys = await sdkCall(tab.page, "listKeys");
      assert(keys.length === 2, `two keys, got ${JSON.stringify(keys)}`);
      assert(keys.some((k) => k.nickname === `backup ${sdk}`), "the nickname is listed");
    });
    step("remove the first key with the removeSecurityKey mutation", async () => {
      const removed = await sdkCall(tab.page, "removeKey", firstKeyId);
      assert(removed?.id === firstKeyId, `the removed key's id is returned: ${JSON.stringify(removed)}`);
      const keys = await sdkCall(tab.page, "listKeys");
      assert(keys.length === 1 && keys[0].id !== firstKeyId, `one key left: ${JSON.stringify(keys)}`);
    });
    step("sign in with the second key", async () => {
      await sdkCall(tab.page, "signOut");
      const session = await sdkCall(tab.page, "signIn", email);
      assert(session?.userId === userId, "the added key signs the user in");
    });
    step("refresh the session", async () => {
      const before = await sdkCall(tab.page, "session");
      const after = await sdkCall(tab.page, "refresh");
      assert(after?.userId === userId, "still the same user");
      assert(after.refreshToken !== before.refreshToken, "the refresh token was rotated");
      lastRefreshToken = after.refreshToken;
    });
    step("sign out; the old refresh token is refused", async () => {
      assert((await sdkCall(tab.page, "signOut")) === null, "no session after sign-out");
      const refused = await sdkCall(tab.page, "refreshWith", lastRefreshToken);
      // v4 reports the HTTP status; v2 its own status code, with the server's error body.
      const code = refused.error?.error;
      assert(!refused.ok && code === "invalid-refresh-token", `refresh refused: ${JSON.stringify(refused)}`);
      if (sdk === "v4") assert(refused.status === 401, `HTTP 401, got ${refused.status}`);
    });
  });
}

/** Sign-up while e-mail verification is required: no session, a mail whose link (opened in the
 * browser) signs the user in, then passkey sign-in works. */
async function verifiedSignUp(browser, server, pageOrigin, sdk, store) {
  await scenario(`${store} ${sdk} verified sign-up`, server, async (step, ctx) => {
    const email = uniqueEmail(`verify-${sdk}`);
    let tab;
    step("sign up with a passkey: no session, a verification mail", async () => {
      await server.changeEnv({ AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED: "true" });
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = async () => {
        await tab.context.close();
        // /change-env is a partial update (as upstream): put the key back explicitly.
        await server.changeEnv({ AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED: "false" });
      };
      await tab.page.goto(`${pageOrigin}/${sdk}.html?auth=${encodeURIComponent(server.api)}`);
      const result = await sdkCall(tab.page, "signUp", email, { redirectTo: `${pageOrigin}/${sdk}.html` });
      assert(!result.hasSession && result.session === null, `no session yet: ${JSON.stringify(result)}`);
    });
    step("open the mailed link in the browser: signed in, e-mail verified", async () => {
      const link = await waitForVerifyLink(email);
      await tab.page.goto(link);
      await tab.page.waitForURL((url) => url.origin === pageOrigin, { timeout: STEP_TIMEOUT_MS });
      const result = await sdkCall(tab.page, "finishEmailVerification");
      assert(result.type === "verifyEmail", `redirect type verifyEmail, got ${result.type}`);
      assert(result.session?.email === email, `signed in from the link: ${JSON.stringify(result)}`);
    });
    step("sign out, then sign in with the passkey", async () => {
      await sdkCall(tab.page, "signOut");
      const session = await sdkCall(tab.page, "signIn", email);
      assert(session?.email === email && session.emailVerified === true, "verified user signs in");
    });
  });
}

/** Passwordless e-mail, the lost-passkey path: a magic link opened in the browser, then a
 * mailed code, then a new passkey added from that session and used to sign in. */
async function passwordlessEmail(browser, server, pageOrigin, sdk, store) {
  await scenario(`${store} ${sdk} passwordless e-mail`, server, async (step, ctx) => {
    const email = uniqueEmail(`passwordless-${sdk}`);
    let tab;
    step("ask for a magic link: no session yet", async () => {
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = () => tab.context.close();
      await tab.page.goto(`${pageOrigin}/${sdk}.html?auth=${encodeURIComponent(server.api)}`);
      await sdkCall(tab.page, "magicLink", email, { redirectTo: `${pageOrigin}/${sdk}.html` });
      assert((await sdkCall(tab.page, "session")) === null, "no session before the link is opened");
    });
    step("open the mailed magic link: signed in, address confirmed", async () => {
      const link = await waitForVerifyLink(email, 0);
      assert(link.includes("type=signinPasswordless"), `a magic link: ${link}`);
      await tab.page.goto(link);
      await tab.page.waitForURL((url) => url.origin === pageOrigin, { timeout: STEP_TIMEOUT_MS });
      const result = await sdkCall(tab.page, "finishEmailVerification");
      assert(result.session?.email === email, `signed in from the link: ${JSON.stringify(result)}`);
      assert(result.session.emailVerified === true, "the link verified the address");
    });
    step("sign out, then sign in with a mailed code", async () => {
      await sdkCall(tab.page, "signOut");
      await sdkCall(tab.page, "otpEmail", email);
      const code = await waitForCode(email, 1);
      const session = await sdkCall(tab.page, "verifyOtpEmail", email, code);
      assert(session?.email === email, `signed in by code: ${JSON.stringify(session)}`);
    });
    step("add a passkey from that session, sign out, sign in with it", async () => {
      await sdkCall(tab.page, "addKey", "Recovered laptop");
      await sdkCall(tab.page, "signOut");
      const session = await sdkCall(tab.page, "signIn", email);
      assert(session?.email === email, `passkey sign-in after recovery: ${JSON.stringify(session)}`);
    });
  });
}

/** Passwordless SMS: a texted code (read from the `dev` provider's file) signs in a new,
 * phone-only user and verifies the number; v2 types the number with spaces, which is the same
 * user. Then a passkey added from that session signs in (discoverable: there is no e-mail). */
async function passwordlessSms(browser, server, pageOrigin, sdk, store) {
  await scenario(`${store} ${sdk} passwordless SMS`, server, async (step, ctx) => {
    const phone = uniquePhone();
    const typed = sdk === "v2" ? phone.typed : phone.e164;
    let tab;
    let userId;
    step("text me a code, sign in with it: a new user, number verified", async () => {
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = () => tab.context.close();
      await tab.page.goto(`${pageOrigin}/${sdk}.html?auth=${encodeURIComponent(server.api)}`);
      await sdkCall(tab.page, "smsCode", typed);
      assert((await sdkCall(tab.page, "session")) === null, "no session before the code is used");
      const code = await waitForSmsCode(server.smsDir, phone.e164, 0);
      const session = await sdkCall(tab.page, "verifySmsCode", typed, code);
      assert(session?.phoneNumber === phone.e164, `signed in by SMS: ${JSON.stringify(session)}`);
      assert(session.phoneNumberVerified === true, "the code verified the number");
      assert(!session.email, `a phone-only user: ${session.email}`);
      userId = session.userId;
    });
    step("sign out, text me another code: the same user", async () => {
      await sdkCall(tab.page, "signOut");
      await sdkCall(tab.page, "smsCode", phone.typed);
      const code = await waitForSmsCode(server.smsDir, phone.e164, 1);
      const session = await sdkCall(tab.page, "verifySmsCode", phone.e164, code);
      assert(session?.userId === userId, `one user per number: ${JSON.stringify(session)}`);
    });
    step("add a passkey from that session, sign out, sign in with it", async () => {
      await sdkCall(tab.page, "addKey", "Phone-first laptop");
      await sdkCall(tab.page, "signOut");
      const session = await sdkCall(tab.page, "signInDiscoverable");
      assert(session?.userId === userId, `passkey sign-in after SMS: ${JSON.stringify(session)}`);
    });
  });
}

/** Sign-in with a provider in the real browser: v4 through `signInProviderURL` (GitHub, then
 * the provider's tokens once and a provider refresh), v2 through `signIn({provider})`
 * (Google, OpenID Connect). The mock approves at once; the tab lands back on the app page,
 * whose SDK picks the session up. */
async function providerSignIn(browser, server, pageOrigin, sdk, store, mock) {
  const provider = sdk === "v4" ? "github" : "google";
  const email = uniqueEmail(`${provider}-${sdk}`);
  await scenario(`${store} ${sdk} ${provider} sign-in`, server, async (step, ctx) => {
    let tab;
    let handed;
    step(`continue with ${provider}: back on the app page, signed in`, async () => {
      await mock.person(Date.now(), email);
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = () => tab.context.close();
      await tab.page.goto(`${pageOrigin}/${sdk}.html?auth=${encodeURIComponent(server.api)}`);
      const redirectTo = `${pageOrigin}/${sdk}.html`;
      // Back on the page without the `auth` parameter the test page was opened with.
      const landed = tab.page.waitForURL(
        (url) => url.origin === pageOrigin && !url.searchParams.has("auth"),
        { timeout: STEP_TIMEOUT_MS },
      );
      if (sdk === "v4") {
        const url = await sdkCall(tab.page, "providerUrl", provider, { redirectTo });
        assert(url.startsWith(`${server.api}/signin/provider/${provider}?`), `the SDK's URL: ${url}`);
        await tab.page.goto(url);
      } else {
        // The SDK navigates away itself: the evaluation may end with the page.
        await sdkCall(tab.page, "signInProvider", provider, { redirectTo }).catch(() => {});
      }
      await landed;
      const result = await sdkCall(tab.page, "finishEmailVerification");
      assert(result.session?.email === email, `signed in: ${JSON.stringify(result)}`);
      assert(result.session.emailVerified === true, "the provider verified the address");
    });
    if (sdk === "v4") {
      step("the provider's tokens, once", async () => {
        const first = await sdkCall(tab.page, "providerTokens", provider);
        assert(first.ok && first.body.accessToken && first.body.refreshToken, JSON.stringify(first));
        assert(first.body.expiresIn > 0 && first.body.expiresAt, JSON.stringify(first));
        handed = first.body;
        const again = await sdkCall(tab.page, "providerTokens", provider);
        assert(!again.ok && again.status === 400, `single use: ${JSON.stringify(again)}`);
      });
      step("refresh them at the provider", async () => {
        const res = await sdkCall(tab.page, "refreshProviderToken", provider, handed.refreshToken);
        assert(res.ok && res.body.accessToken !== handed.accessToken, JSON.stringify(res));
        const replay = await sdkCall(tab.page, "refreshProviderToken", provider, handed.refreshToken);
        assert(!replay.ok && replay.error?.error === "oauth-provider-error", JSON.stringify(replay));
      });
    }
    step("sign out", async () => {
      assert((await sdkCall(tab.page, "signOut")) === null, "signed out");
    });
  });
}

/** RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, computed by the test. */
function totpCode(secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

/** TOTP with nhost-js v4: set up with a code, a password sign-in answers a ticket, the code
 * turns it into a session, and the same code does not sign in twice. */
async function totp(browser, server, pageOrigin, store) {
  await scenario(`${store} v4 totp`, server, async (step, ctx) => {
    const email = uniqueEmail("totp-v4");
    const password = "correct horse battery";
    let tab;
    let secret;
    let code;
    step("sign up with a password, set up TOTP from the secret", async () => {
      await server.changeEnv({ AUTH_MFA_ENABLED: "true" });
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = async () => {
        await tab.context.close();
        await server.changeEnv({ AUTH_MFA_ENABLED: "false" });
      };
      await tab.page.goto(`${pageOrigin}/v4.html?auth=${encodeURIComponent(server.api)}`);
      const session = await sdkCall(tab.page, "signUpPassword", email, password);
      assert(session?.email === email, `signed up: ${JSON.stringify(session)}`);
      const setup = await sdkCall(tab.page, "generateTotp");
      assert(setup.imageUrl.startsWith("data:image/png;base64,"), `QR code: ${setup.imageUrl.slice(0, 40)}`);
      secret = setup.totpSecret;
      code = totpCode(secret);
      const ok = await sdkCall(tab.page, "changeMfa", code, "totp");
      assert(ok === "OK", `activated: ${JSON.stringify(ok)}`);
    });
    step("sign out; the password answers a ticket, the code a session", async () => {
      await sdkCall(tab.page, "signOut");
      const first = await sdkCall(tab.page, "signInPassword", email, password);
      assert(first.mfa?.ticket?.startsWith("mfaTotp:") && !first.hasSession, `ticket: ${JSON.stringify(first)}`);
      const res = await sdkCall(tab.page, "signInTotp", first.mfa.ticket, code);
      assert(res.ok && res.session?.email === email, `signed in: ${JSON.stringify(res)}`);
    });
    step("the same code does not sign in twice", async () => {
      const again = await sdkCall(tab.page, "signInPassword", email, password);
      const res = await sdkCall(tab.page, "signInTotp", again.mfa.ticket, code);
      assert(!res.ok && res.status === 401 && res.error?.error === "invalid-totp", `refused: ${JSON.stringify(res)}`);
    });
    step("turn TOTP off with a code: the password signs in directly", async () => {
      const ok = await sdkCall(tab.page, "changeMfa", totpCode(secret), "");
      assert(ok === "OK", `deactivated: ${JSON.stringify(ok)}`);
      const res = await sdkCall(tab.page, "signInPassword", email, password);
      assert(res.mfa === null && res.hasSession, `no ticket: ${JSON.stringify(res)}`);
    });
  });
}

/** The playground served by latchkey itself at `/`: sign up through its form, see the claims,
 * and keep a screenshot for the book. */
async function playground(browser, server, store, mock) {
  await scenario(`${store} playground`, server, async (step, ctx) => {
    let tab;
    // Each store is fresh, so a fixed address keeps the screenshot tidy.
    const email = "ada@example.test";
    step("sign up with a passkey and see the decoded claims", async () => {
      tab = await openPage(browser, ctx.consoleLines);
      ctx.close = () => tab.context.close();
      await tab.page.setViewportSize({ width: 1100, height: 900 });
      await tab.page.goto(`${server.url}/`);
      await tab.page.fill("#email", email);
      await tab.page.click("#signup");
      await tab.page.waitForSelector("#claims:not(:empty)", { timeout: STEP_TIMEOUT_MS });
      const claims = JSON.parse(await tab.page.textContent("#claims"));
      assert(claims.sub && claims["https://hasura.io/jwt/claims"], `claims shown: ${JSON.stringify(claims)}`);
    });
    step("add a key, rename a key, elevate", async () => {
      await tab.newAuthenticator();
      await tab.page.fill("#nickname", "YubiKey (virtual)");
      await tab.page.click("#add-key");
      await tab.page.waitForSelector('#keys li:nth-child(2)', { timeout: STEP_TIMEOUT_MS });
      await tab.page.click("#elevate");
      await tab.page.waitForFunction(
        () => document.querySelector("#claims")?.textContent?.includes("x-hasura-auth-elevated"),
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      assert((await tab.page.textContent("#keys")).includes("YubiKey (virtual)"), "the nickname is listed");
      tab.page.once("dialog", (dialog) => dialog.accept("Backup key"));
      await tab.page.click("#keys li:nth-child(1) button:text('Rename')");
      await tab.page.waitForFunction(
        () => document.querySelector("#keys")?.textContent?.includes("Backup key"),
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      if (SCREENSHOT && store === "sqlite") await tab.page.screenshot({ path: SCREENSHOT, fullPage: true });
    });
    step("set up an authenticator app, get recovery codes, turn it off", async () => {
      await server.changeEnv({ AUTH_MFA_ENABLED: "true" });
      try {
        await tab.page.click("#totp-generate");
        await tab.page.waitForSelector("#totp-setup:not([hidden])", { timeout: STEP_TIMEOUT_MS });
        const qr = await tab.page.getAttribute("#totp-qr", "src");
        assert(qr.startsWith("data:image/png;base64,"), `QR code shown: ${qr.slice(0, 40)}`);
        const secret = await tab.page.textContent("#totp-secret");
        await tab.page.fill("#totp-code", totpCode(secret));
        await tab.page.click("#totp-on");
        await tab.page.waitForFunction(
          () => document.querySelector("#status")?.textContent?.startsWith("TOTP is on"),
          null,
          { timeout: STEP_TIMEOUT_MS },
        );
        await tab.page.click("#totp-recovery");
        await tab.page.waitForSelector("#totp-codes:not([hidden])", { timeout: STEP_TIMEOUT_MS });
        const codes = (await tab.page.textContent("#totp-codes")).split("\n");
        assert(codes.length === 10, `ten recovery codes: ${JSON.stringify(codes)}`);
        await tab.page.fill("#totp-code", totpCode(secret));
        await tab.page.click("#totp-off");
        await tab.page.waitForFunction(
          () => document.querySelector("#status")?.textContent === "TOTP is off",
          null,
          { timeout: STEP_TIMEOUT_MS },
        );
      } finally {
        await server.changeEnv({ AUTH_MFA_ENABLED: "false" });
      }
    });
    step("sign out, continue with GitHub: back on the playground, signed in", async () => {
      await tab.page.click("#signout");
      await tab.page.waitForFunction(
        () => document.querySelector("#status")?.textContent === "signed out",
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      // The GitHub account's verified address is the playground user's: linked, same user.
      await mock.person(1, email);
      const google = await tab.page.textContent("#provider-google");
      assert(google === "Continue with Google", `a button per enabled provider: ${google}`);
      await tab.page.click("#provider-github");
      await tab.page.waitForFunction(
        () => document.querySelector("#status")?.textContent === "signed in with GitHub",
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      assert(new URL(tab.page.url()).origin === server.url, `back on the playground: ${tab.page.url()}`);
      assert((await tab.page.textContent("#session")).includes(email), "the session is shown");
    });
  });
}

/** The playground's lost-passkey path on a server without SMTP: a magic link and a code
 * read from its development inbox, then a passkey added from that session. */
async function playgroundWithoutPasskey(browser, store) {
  const server = await startLatchkey(store, "http://localhost:3000", {
    AUTH_SMTP_HOST: undefined,
    AUTH_SMTP_PORT: undefined,
    AUTH_SMTP_SENDER: undefined,
  });
  try {
    await scenario(`${store} playground without a passkey`, server, async (step, ctx) => {
      const email = uniqueEmail("playground-lost");
      let tab;
      step("e-mail me a link: it is in the inbox, and opens signed in on the playground", async () => {
        tab = await openPage(browser, ctx.consoleLines);
        ctx.close = () => tab.context.close();
        await tab.page.goto(`${server.url}/`);
        await tab.page.fill("#email", email);
        await tab.page.click("#magic-link");
        const link = tab.page.locator("#inbox li a").first();
        await link.waitFor({ timeout: STEP_TIMEOUT_MS });
        await link.click();
        await tab.page.waitForSelector("#claims:not(:empty)", { timeout: STEP_TIMEOUT_MS });
        const session = await tab.page.textContent("#session");
        const said = await tab.page.textContent("#status");
        assert(said === "signed in by link", `status: ${said}`);
        assert(session.includes(email) && session.includes("(verified)"), `signed in: ${session}`);
      });
      step("sign out, e-mail me a code, type it from the inbox", async () => {
        await tab.page.click("#signout");
        await tab.page.waitForFunction(() => !document.querySelector("#claims")?.textContent, null, {
          timeout: STEP_TIMEOUT_MS,
        });
        await tab.page.fill("#email", email);
        await tab.page.click("#otp-email");
        await tab.page.waitForFunction(
          () => /code .* is: \d{6}/.test(document.querySelector("#inbox li .text")?.textContent ?? ""),
          null,
          { timeout: STEP_TIMEOUT_MS },
        );
        const text = await tab.page.textContent("#inbox li .text");
        await tab.page.fill("#otp", /code .* is: (\d{6})/.exec(text)[1]);
        await tab.page.click("#verify-otp");
        await tab.page.waitForSelector("#claims:not(:empty)", { timeout: STEP_TIMEOUT_MS });
      });
      step("add a passkey from that session, sign out, sign in with it", async () => {
        await tab.page.click("#add-key");
        await tab.page.waitForSelector("#keys li", { timeout: STEP_TIMEOUT_MS });
        await tab.page.click("#signout");
        await tab.page.waitForFunction(() => !document.querySelector("#claims")?.textContent, null, {
          timeout: STEP_TIMEOUT_MS,
        });
        await tab.page.fill("#email", email);
        await tab.page.click("#signin");
        await tab.page.waitForSelector("#claims:not(:empty)", { timeout: STEP_TIMEOUT_MS });
      });
      step("a texted code (dev SMS provider) is in the inbox as an SMS, newest first", async () => {
        const phone = uniquePhone();
        const res = await fetch(`${server.api}/signin/passwordless/sms`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ phoneNumber: phone.typed }),
        });
        assert(res.ok, `SMS request answered ${res.status}: ${await res.text()}`);
        const code = await waitForSmsCode(server.smsDir, phone.e164, 0);
        await tab.page.click("#inbox-refresh");
        await tab.page.waitForFunction(
          (to) => document.querySelector("#inbox li .meta")?.textContent?.includes(`SMS to ${to}`),
          phone.e164,
          { timeout: STEP_TIMEOUT_MS },
        );
        const text = await tab.page.textContent("#inbox li .text");
        assert(text.includes(code), `the inbox shows the texted code ${code}: ${text}`);
        const second = await tab.page.textContent("#inbox li:nth-child(2) .meta");
        assert(second.includes("mail to"), `the mails follow: ${second}`);
      });
    });
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  const { server: pageServer, origin: pageOrigin } = await startPageServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const mock = await startOAuthMock();
  try {
    for (const store of STORES) {
      const label = store === "sqlite" ? "sqlite" : "postgres";
      console.log(`\n# ${label}`);
      const server = await startLatchkey(store, pageOrigin, mock.vars);
      try {
        for (const sdk of ["v4", "v2"]) {
          await keyLifecycle(browser, server, pageOrigin, sdk, label);
          await verifiedSignUp(browser, server, pageOrigin, sdk, label);
          await passwordlessEmail(browser, server, pageOrigin, sdk, label);
          await passwordlessSms(browser, server, pageOrigin, sdk, label);
          await providerSignIn(browser, server, pageOrigin, sdk, label, mock);
        }
        await totp(browser, server, pageOrigin, label);
        await playground(browser, server, label, mock);
      } finally {
        await server.stop();
      }
      if (label === "sqlite") await playgroundWithoutPasskey(browser, store);
    }
  } finally {
    mock.stop();
    await browser.close();
    pageServer.close();
  }
}

let crashed = null;
try {
  await main();
} catch (err) {
  crashed = err;
  console.log(`\nbrowser e2e stopped: ${err?.stack ?? err}`);
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed + (crashed ? 1 : 0);
console.log(`\nbrowser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

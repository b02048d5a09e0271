// A real OAuth 1.0a provider on loopback, shaped like Twitter, for Latchkey's Twitter tests
// (tests/e2e/providers_twitter.rs). Every signed request is checked independently of
// Latchkey's signing code: the npm package oauth-sign recomputes the HMAC-SHA1 signature from
// the request as received (method, URL, query, form body and Authorization header), with the
// consumer secret and the token secret this server issued, and a mismatch is refused with 401.
// Request tokens, verifiers and access tokens are single-use or bound, as Twitter's are.
//
// Endpoints: POST /oauth/request_token, GET /oauth/authorize (approves at once, or denies),
// POST /oauth/access_token, GET /1.1/account/verify_credentials.json, and POST /_control
// (JSON) to set the profile, deny the next authorizations, or change the consumer secret this
// server expects (so Latchkey's signatures stop verifying).
//
// Prints one line, {"base": "http://127.0.0.1:<port>"}, once it listens.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const oauthSign = require('oauth-sign');

const CONSUMER_KEY = process.env.MOCK_CONSUMER_KEY || 'latchkey-consumer';

let control = {
  // What verify_credentials answers (email only with include_email=true, as Twitter).
  // `id` as Twitter sends it: a JSON number too large for a double, hence `id_str`.
  profile: {
    id: 1234567890123456789,
    id_str: '1234567890123456789',
    name: 'Ada Lovelace',
    screen_name: 'ada',
    email: 'ada@example.test',
    profile_image_url_https: 'https://pbs.test/ada.jpg',
  },
  // When true, /oauth/authorize sends the browser back with `denied=<token>`.
  deny: false,
  // The consumer secret signatures must be made with.
  consumerSecret: process.env.MOCK_CONSUMER_SECRET || 'consumer-secret',
};
// request token -> { secret, callback, verifier }
const requestTokens = new Map();
// access token -> secret
const accessTokens = new Map();
// What went wrong last, for a test's failure message.
let lastRefusal = null;

const random = () => crypto.randomBytes(18).toString('base64url');

// The OAuth parameters of an `Authorization: OAuth k="v", ...` header, decoded.
function authorizationParams(header) {
  if (!header || !header.startsWith('OAuth ')) return null;
  const params = {};
  for (const part of header.slice(6).split(',')) {
    const m = part.trim().match(/^([^=]+)="(.*)"$/);
    if (!m) return null;
    params[decodeURIComponent(m[1])] = decodeURIComponent(m[2]);
  }
  return params;
}

// Checks the request's signature; returns its OAuth parameters, or null (after answering 401).
function verify(req, res, url, body, tokenSecret) {
  const oauth = authorizationParams(req.headers.authorization);
  const refuse = (why) => {
    lastRefusal = why;
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 32, message: 'Could not authenticate you.' }] }));
    return null;
  };
  if (!oauth) return refuse('no OAuth Authorization header');
  if (oauth.oauth_consumer_key !== CONSUMER_KEY) return refuse('unknown consumer key');
  if (oauth.oauth_signature_method !== 'HMAC-SHA1') return refuse('not HMAC-SHA1');
  if (!oauth.oauth_nonce || !/^\d+$/.test(oauth.oauth_timestamp || '')) {
    return refuse('no nonce or timestamp');
  }
  const { oauth_signature: signature, ...signed } = oauth;
  // RFC 5849 §3.4.1.3: the query, the form body and the header's parameters (not `realm`).
  delete signed.realm;
  const params = [];
  for (const [k, v] of url.searchParams) params.push([k, v]);
  for (const [k, v] of new URLSearchParams(body)) params.push([k, v]);
  for (const [k, v] of Object.entries(signed)) params.push([k, v]);
  const grouped = {};
  for (const [k, v] of params) (grouped[k] = grouped[k] || []).push(v);
  const baseUri = `http://${req.headers.host}${url.pathname}`;
  const expected = oauthSign.hmacsign(
    req.method,
    baseUri,
    grouped,
    control.consumerSecret,
    tokenSecret,
  );
  const a = Buffer.from(expected);
  const b = Buffer.from(signature || '');
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return refuse('bad signature');
  return oauth;
}

function form(res, values) {
  res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
  res.end(new URLSearchParams(values).toString());
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

async function handle(req, res, body) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const route = `${req.method} ${url.pathname}`;

  if (route === 'POST /oauth/request_token') {
    const oauth = verify(req, res, url, body, '');
    if (!oauth) return;
    if (!oauth.oauth_callback) return json(res, 400, { error: 'no oauth_callback' });
    const token = random();
    requestTokens.set(token, { secret: random(), callback: oauth.oauth_callback, verifier: null });
    return form(res, {
      oauth_token: token,
      oauth_token_secret: requestTokens.get(token).secret,
      oauth_callback_confirmed: 'true',
    });
  }

  if (route === 'GET /oauth/authorize') {
    const token = url.searchParams.get('oauth_token');
    const pending = requestTokens.get(token);
    if (!pending || pending.verifier) return json(res, 400, { error: 'unknown request token' });
    const back = new URL(pending.callback);
    if (control.deny) {
      requestTokens.delete(token);
      back.searchParams.set('denied', token);
    } else {
      pending.verifier = random();
      back.searchParams.set('oauth_token', token);
      back.searchParams.set('oauth_verifier', pending.verifier);
    }
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }

  if (route === 'POST /oauth/access_token') {
    const claimed = authorizationParams(req.headers.authorization) || {};
    const pending = requestTokens.get(claimed.oauth_token);
    if (!pending || !pending.verifier) return json(res, 401, { error: 'unknown request token' });
    // Signed with the request token's secret, which only the flow that asked for it holds.
    const oauth = verify(req, res, url, body, pending.secret);
    if (!oauth) return;
    const verifier = oauth.oauth_verifier || new URLSearchParams(body).get('oauth_verifier');
    if (verifier !== pending.verifier) return json(res, 401, { error: 'bad verifier' });
    requestTokens.delete(claimed.oauth_token);
    const access = `${control.profile.id_str}-${random()}`;
    accessTokens.set(access, random());
    return form(res, {
      oauth_token: access,
      oauth_token_secret: accessTokens.get(access),
      user_id: control.profile.id_str,
      screen_name: control.profile.screen_name,
    });
  }

  if (route === 'GET /1.1/account/verify_credentials.json') {
    const claimed = authorizationParams(req.headers.authorization) || {};
    const secret = accessTokens.get(claimed.oauth_token);
    if (secret === undefined) return json(res, 401, { errors: [{ code: 89 }] });
    if (!verify(req, res, url, body, secret)) return;
    const profile = { ...control.profile };
    if (url.searchParams.get('include_email') !== 'true') delete profile.email;
    return json(res, 200, profile);
  }

  if (route === 'POST /_control') {
    control = { ...control, ...JSON.parse(body || '{}') };
    return json(res, 200, control);
  }

  if (route === 'GET /_refusal') return json(res, 200, { lastRefusal });

  json(res, 404, { error: `no route ${route}` });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks).toString()).catch((e) => {
      process.stderr.write(`twitter mock: ${e.stack || e}\n`);
      json(res, 500, { error: String(e) });
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(JSON.stringify({ base }) + '\n');
});

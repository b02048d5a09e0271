// A real OAuth 2 / OpenID Connect server on loopback for Latchkey's provider tests
// (tests/e2e/providers*.rs): oauth2-mock-server signs JWTs, serves a JWKS and discovery.
// This script adds what a GitHub-shaped provider has (a profile API at /user and
// /user/emails), any other provider's profile API (an answer per path, set through the
// control endpoint the Rust test scripts it with: /api/users/@me for Discord, /helix/users
// for Twitch, ...), and makes the token endpoint stricter than the mock's default: PKCE,
// client credentials (and, when asked, where they travel) and redirect_uri are checked as a
// real provider checks them.
//
// Prints one line, {"issuer": "http://127.0.0.1:<port>"}, once it listens.
'use strict';

const crypto = require('node:crypto');
const { OAuth2Issuer, OAuth2Server } = require('oauth2-mock-server');

const CLIENT_ID = process.env.MOCK_CLIENT_ID || 'latchkey-test';
const CLIENT_SECRET = process.env.MOCK_CLIENT_SECRET || 'test-secret';

// Set by POST /_control: what the next flows see.
let control = {
  // GitHub's /user and /user/emails answers.
  githubUser: { id: 1, login: 'ada', name: 'Ada Lovelace', avatar_url: 'https://avatars.test/ada' },
  githubEmails: [{ email: 'ada@example.test', primary: true, verified: true }],
  // Other providers' profile APIs: path -> the JSON answer to a GET with a valid token.
  profiles: {},
  // path -> headers such a GET must carry (Twitch's Client-Id), else 401.
  profileHeaders: {},
  // Merged into each token response; a null value removes that field (WorkOS sends
  // `{access_token, profile}` only).
  tokenFields: {},
  // 'basic' or 'body': where the token request must carry the client credentials.
  tokenAuth: null,
  // When set, /authorize redirects back with this error instead of a code.
  authorizeError: null,
  // Claims set in every token the mock signs (ID tokens included): a Google-shaped profile,
  // or a bad audience, issuer or expiry for the negative tests.
  tokenClaims: {
    sub: 'google-1',
    email: 'ada@example.test',
    email_verified: true,
    name: 'Ada Lovelace',
    picture: 'https://avatars.test/ada',
  },
  // When set, the `Cache-Control` of discovery documents and the JWKS.
  cacheControl: null,
  // When true, discovery documents and the JWKS answer 503 (the provider is down).
  metadataDown: false,
  // Apple: when set ({publicKeyPem, teamId, keyId, clientId}), the token endpoint wants a
  // client_secret that is an ES256 JWT of this key (as Apple does), not the fixed secret.
  appleClientSecret: null,
};
// Requests per path (discovery documents, /jwks, /token, ...), reported by /_control.
const requests = {};
// code -> what /authorize saw, for the checks at /token.
const codes = new Map();
const accessTokens = new Set();

function json(res, status, body) {
  res.status(status).json(body);
}

async function main() {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  const service = server.service;
  const app = service.requestHandler;

  service.on('beforeTokenSigning', (token) => {
    Object.assign(token.payload, control.tokenClaims || {});
  });

  service.on('beforeAuthorizeRedirect', (redirect, req) => {
    const code = redirect.url.searchParams.get('code');
    if (code) {
      codes.set(code, {
        redirectUri: req.query.redirect_uri,
        challenge: req.query.code_challenge,
        clientId: req.query.client_id,
      });
    }
    if (control.authorizeError) {
      redirect.url.searchParams.delete('code');
      for (const [k, v] of Object.entries(control.authorizeError)) {
        redirect.url.searchParams.set(k, v);
      }
    }
  });

  service.on('beforeResponse', (response, req) => {
    const fail = (description) => {
      response.statusCode = 400;
      response.body = { error: 'invalid_grant', error_description: description };
    };
    if (req.body.grant_type !== 'authorization_code') return;
    const seen = codes.get(req.body.code);
    codes.delete(req.body.code);
    if (!seen) return fail('unknown or used code');
    if (seen.challenge && !req.body.code_verifier) return fail('code_verifier required');
    if (seen.redirectUri !== req.body.redirect_uri) return fail('redirect_uri differs');
    const header = req.headers.authorization || '';
    const basic = header.replace(/^Basic /, '');
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
    if (control.tokenAuth === 'basic' && (!header.startsWith('Basic ') || req.body.client_secret)) {
      return fail('client credentials expected in a Basic header');
    }
    if (control.tokenAuth === 'body' && (header || !req.body.client_secret)) {
      return fail('client credentials expected in the form body');
    }
    const clientId = id || req.body.client_id;
    const clientSecret = secret || req.body.client_secret;
    if (control.appleClientSecret) {
      const why = appleSecretProblem(control.appleClientSecret, clientId, clientSecret);
      if (why) return fail(`bad client: ${why}`);
    } else if (clientId !== CLIENT_ID || clientSecret !== CLIENT_SECRET) {
      return fail('bad client');
    }
    accessTokens.add(response.body.access_token);
    for (const [k, v] of Object.entries(control.tokenFields || {})) {
      if (v === null) delete response.body[k];
      else response.body[k] = v;
    }
  });

  // RS256 is deterministic: without a unique claim, two tokens signed within one second are
  // the same string, and a refresh would seem to change nothing.
  service.on('beforeTokenSigning', (token) => {
    token.payload.jti = require('node:crypto').randomUUID();
  });

  // Refresh tokens as a real provider keeps them (tests/e2e/providers_tokens.rs): only one
  // it issued, with the client's credentials, is accepted; it is rotated (the old one dies)
  // unless `control.rotateRefreshTokens` is false, when the answer carries no new one.
  const refreshTokens = new Set();
  service.on('beforeResponse', (response, req) => {
    const grant = req.body.grant_type;
    if (grant === 'refresh_token') {
      const presented = req.body.refresh_token;
      const basic = (req.headers.authorization || '').replace(/^Basic /, '');
      const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
      const known = refreshTokens.has(presented);
      const client = (id || req.body.client_id) === CLIENT_ID
        && (secret || req.body.client_secret) === CLIENT_SECRET;
      if (!known || !client) {
        response.statusCode = 400;
        response.body = { error: 'invalid_grant', error_description: 'unknown refresh token' };
        return;
      }
      if (control.rotateRefreshTokens === false) {
        delete response.body.refresh_token;
      } else {
        refreshTokens.delete(presented);
      }
      accessTokens.add(response.body.access_token);
    }
    if (response.statusCode === 200 && response.body.refresh_token) {
      refreshTokens.add(response.body.refresh_token);
    }
  });

  const bearer = (req) => (req.headers.authorization || '').replace(/^Bearer /, '');
  app.get('/user', (req, res) => {
    if (!accessTokens.has(bearer(req))) return json(res, 401, { message: 'Bad credentials' });
    json(res, 200, control.githubUser);
  });
  app.get('/user/emails', (req, res) => {
    if (!accessTokens.has(bearer(req))) return json(res, 401, { message: 'Bad credentials' });
    json(res, 200, control.githubEmails);
  });
  const own = (map, key) => map && Object.prototype.hasOwnProperty.call(map, key);
  app.use((req, res, next) => {
    if (req.method !== 'GET' || !own(control.profiles, req.path)) return next();
    if (!accessTokens.has(bearer(req))) return json(res, 401, { message: 'Bad credentials' });
    const required = own(control.profileHeaders, req.path) ? control.profileHeaders[req.path] : {};
    for (const [name, value] of Object.entries(required)) {
      if (req.headers[name.toLowerCase()] !== value) {
        return json(res, 401, { error: 'Unauthorized', message: `${name} missing or wrong` });
      }
    }
    json(res, 200, control.profiles[req.path]);
  });
  // Signs a token with these claims, as the mock's published key (or, with `stray`, a key
  // that is not in its JWKS), for POST /signin/idtoken tests.
  const stray = new OAuth2Issuer();
  await stray.keys.generate('RS256');
  app.post('/_sign', async (req, res) => {
    const issuer = req.body.stray ? stray : server.issuer;
    stray.url = server.issuer.url;
    const token = await issuer.buildToken({
      kid: req.body.kid,
      scopesOrTransform: (_header, payload) => Object.assign(payload, req.body.claims || {}),
      expiresIn: 3600,
    });
    json(res, 200, { token });
  });
  app.post('/_control', (req, res) => {
    control = { ...control, ...req.body };
    json(res, 200, { ...control, requests });
  });
  // Adds a signing key to the published JWKS (a provider rotating its keys); tokens name it
  // with /_sign's `kid`.
  app.post('/_rotate', async (req, res) => {
    const key = await server.issuer.keys.generate('RS256', { kid: req.body.kid });
    json(res, 200, { kid: key.kid });
  });
  // Discovery under a path: `<prefix>/.well-known/openid-configuration` names the issuer
  // `<url>/<prefix>`, except Microsoft's multi-tenant `common|organizations|consumers/v2.0`,
  // which name it `<url>/{tenantid}/v2.0` as Microsoft does.
  app.get(/^\/(.+)\/\.well-known\/openid-configuration$/, (req, res) => {
    const url = server.issuer.url;
    const prefix = req.params[0].replace(/^(common|organizations|consumers)\/v2\.0$/, '{tenantid}/v2.0');
    json(res, 200, {
      issuer: `${url}/${prefix}`,
      authorization_endpoint: `${url}/authorize`,
      token_endpoint: `${url}/token`,
      userinfo_endpoint: `${url}/userinfo`,
      jwks_uri: `${url}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public', 'pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    });
  });

  // Our own listener in front of the mock's handler: it counts, and sets the caching header
  // the mock does not.
  const http = require('node:http').createServer((req, res) => {
    const path = req.url.split('?')[0];
    requests[path] = (requests[path] || 0) + 1;
    const metadata = /(openid-configuration|\/jwks)$/.test(path);
    if (metadata && control.metadataDown) {
      res.statusCode = 503;
      return res.end('down');
    }
    if (metadata && control.cacheControl) {
      res.setHeader('Cache-Control', control.cacheControl);
    }
    app(req, res);
  });
  await new Promise((resolve, reject) => http.listen(0, '127.0.0.1').on('listening', resolve).on('error', reject));
  server.issuer.url = `http://127.0.0.1:${http.address().port}`;
  process.stdout.write(JSON.stringify({ issuer: server.issuer.url }) + '\n');
}

// Why Apple would refuse `secret` as the client secret of `clientId`, or null: an ES256 JWT
// by the test's key (`kid`), from the team, about the client, for the issuer, short-lived.
function appleSecretProblem(expected, clientId, secret) {
  if (clientId !== expected.clientId) return 'client_id';
  const parts = (secret || '').split('.');
  if (parts.length !== 3) return 'not a JWT';
  const [h, p, sig] = parts;
  let header, payload;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url'));
    payload = JSON.parse(Buffer.from(p, 'base64url'));
  } catch (e) {
    return 'unreadable JWT';
  }
  if (header.alg !== 'ES256' || header.kid !== expected.keyId) return 'header';
  const ok = crypto.verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: expected.publicKeyPem, dsaEncoding: 'ieee-p1363' },
    Buffer.from(sig, 'base64url'),
  );
  if (!ok) return 'signature';
  const now = Math.floor(Date.now() / 1000);
  if (payload.iss !== expected.teamId || payload.sub !== expected.clientId) return 'iss/sub';
  if (payload.aud !== expected.audience) return 'aud';
  if (!(payload.exp > now && payload.iat <= now + 60 && payload.exp - payload.iat <= 15777000)) {
    return 'lifetime';
  }
  return null;
}

main().catch((e) => {
  process.stderr.write(`oauth mock: ${e.stack || e}\n`);
  process.exit(1);
});

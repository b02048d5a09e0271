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
};
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
    if (clientId !== CLIENT_ID || clientSecret !== CLIENT_SECRET) return fail('bad client');
    accessTokens.add(response.body.access_token);
    for (const [k, v] of Object.entries(control.tokenFields || {})) {
      if (v === null) delete response.body[k];
      else response.body[k] = v;
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
      scopesOrTransform: (_header, payload) => Object.assign(payload, req.body.claims || {}),
      expiresIn: 3600,
    });
    json(res, 200, { token });
  });
  app.post('/_control', (req, res) => {
    control = { ...control, ...req.body };
    json(res, 200, control);
  });

  await server.start(0, '127.0.0.1');
  // The mock names itself `localhost`; the address it listens on is clearer and resolves one way.
  server.issuer.url = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(JSON.stringify({ issuer: server.issuer.url }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`oauth mock: ${e.stack || e}\n`);
  process.exit(1);
});

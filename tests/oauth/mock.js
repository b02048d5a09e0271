// A real OAuth 2 / OpenID Connect server on loopback for Latchkey's provider tests
// (tests/e2e/providers*.rs): oauth2-mock-server signs JWTs, serves a JWKS and discovery.
// This script adds what a GitHub-shaped provider has (a profile API at /user and
// /user/emails) and a control endpoint the Rust test scripts it with, and makes the token
// endpoint stricter than the mock's default: PKCE, client credentials and redirect_uri are
// checked as a real provider checks them.
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
    const basic = (req.headers.authorization || '').replace(/^Basic /, '');
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
    const clientId = id || req.body.client_id;
    const clientSecret = secret || req.body.client_secret;
    if (clientId !== CLIENT_ID || clientSecret !== CLIENT_SECRET) return fail('bad client');
    accessTokens.add(response.body.access_token);
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

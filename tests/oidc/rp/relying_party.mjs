// A relying party built on openid-client (certified by the OpenID Foundation) and jose, driven
// by tests/oidc/test_openid_client.py against a live portal. Nothing here knows the portal
// beyond the discovery URL, the client ID and secret: it prints what it saw as one JSON object.
//
// The browser's part: the member is already signed in to the portal (the test passes the
// session's cookies in PORTAL_COOKIE); this script follows the authorization request with them.
import { execFileSync } from "node:child_process";
import * as client from "openid-client";
import * as jose from "jose";

const env = process.env;
const issuer = new URL(env.PORTAL_ISSUER);
const redirectUri = env.RP_REDIRECT_URI;
const postLogoutUri = env.RP_POST_LOGOUT_URI;
const scope = env.RP_SCOPE ?? "openid profile email offline_access";
// The client's registered metadata; an ID-token algorithm other than RS256 must be named here,
// or the library refuses the ID token (oauth4webapi's default is RS256).
const metadata = { client_secret: env.RP_CLIENT_SECRET };
if (env.RP_ID_TOKEN_ALG) metadata.id_token_signed_response_alg = env.RP_ID_TOKEN_ALG;

async function follow(url) {
  // One step of the member's browser: the portal answers with a redirect, not followed.
  const answer = await fetch(url, { redirect: "manual", headers: { cookie: env.PORTAL_COOKIE } });
  if (answer.status !== 303) throw new Error(`expected a redirect from ${url}, got ${answer.status}`);
  return answer.headers.get("location");
}

async function verifyIndependently(config, idToken) {
  // The ID token once more with jose, against the keys published now (after a rotation too).
  const keys = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, keys, {
    issuer: config.serverMetadata().issuer,
    audience: env.RP_CLIENT_ID,
  });
  return { kid: protectedHeader.kid, alg: protectedHeader.alg, sub: payload.sub, sid: payload.sid };
}

async function patientFetch(url, options) {
  // Once more when the server closed an idle kept-alive connection just as it was reused.
  try {
    return await fetch(url, options);
  } catch (error) {
    if (error?.cause?.code !== "UND_ERR_SOCKET") throw error;
    return fetch(url, options);
  }
}

async function discover() {
  const found = await client.discovery(
    issuer,
    env.RP_CLIENT_ID,
    metadata,
    client.ClientSecretBasic(env.RP_CLIENT_SECRET),
    // http on 127.0.0.1 in the test only; signatures of ID tokens from the token endpoint are
    // checked too (not only over TLS), so a key rotation is really exercised.
    {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      [client.customFetch]: patientFetch,
    },
  );
  found[client.customFetch] = patientFetch;
  return found;
}

const config = await discover();

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  state,
  nonce,
});
const callback = await follow(authorizationUrl);
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const first = await verifyIndependently(config, tokens.id_token);

const rotated = JSON.parse(
  execFileSync(env.ROTATE_COMMAND_0, JSON.parse(env.ROTATE_COMMAND_ARGS), { env }).toString(),
);
// A relying party re-reads the keys for an unknown kid only once its copy is a minute old
// (oauth4webapi: 60 s; docs/oidc.md, key rotation). The test's clock cannot wait: the relying
// party goes on as a restarted process would, with its persisted copy of the keys a minute
// older, through the library's own cache interface.
const cache = client.getJwksCache(config);
const later = await discover();
client.setJwksCache(later, { ...cache, uat: cache.uat - 60 });
const renewed = await client.refreshTokenGrant(later, tokens.refresh_token);
const renewedClaims = renewed.claims();
const second = await verifyIndependently(later, renewed.id_token);
const userinfoAfter = await client.fetchUserInfo(later, renewed.access_token, claims.sub);

let reuse;
try {
  await client.refreshTokenGrant(later, tokens.refresh_token);
  reuse = "accepted";
} catch (error) {
  reuse = error.error ?? String(error);
}
let afterReuse;
try {
  await client.fetchUserInfo(later, renewed.access_token, claims.sub);
  afterReuse = "accepted";
} catch (error) {
  afterReuse = error.status ?? String(error);
}

// RFC 7009: another sign-in's refresh token revoked at the advertised revocation_endpoint;
// its whole grant goes with it.
const verifier2 = client.randomPKCECodeVerifier();
const state2 = client.randomState();
const callback2 = await follow(
  client.buildAuthorizationUrl(later, {
    redirect_uri: redirectUri,
    scope: "openid offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier2),
    code_challenge_method: "S256",
    state: state2,
  }),
);
const tokens2 = await client.authorizationCodeGrant(later, new URL(callback2), {
  pkceCodeVerifier: verifier2,
  expectedState: state2,
});
await client.tokenRevocation(later, tokens2.refresh_token, { token_type_hint: "refresh_token" });
let afterRevocation;
try {
  await client.refreshTokenGrant(later, tokens2.refresh_token);
  afterRevocation = "accepted";
} catch (error) {
  afterRevocation = error.error ?? String(error);
}

const logoutState = client.randomState();
const logoutUrl = client.buildEndSessionUrl(later, {
  id_token_hint: renewed.id_token,
  post_logout_redirect_uri: postLogoutUri,
  state: logoutState,
});
const landed = await follow(logoutUrl);

process.stdout.write(
  JSON.stringify({
    claims,
    userinfo,
    first,
    rotated: rotated.kids,
    renewedClaims,
    second,
    userinfoAfter,
    reuse,
    logout: { landed, expected: `${postLogoutUri}?state=${logoutState}` },
    afterReuse,
    afterRevocation,
  }),
);

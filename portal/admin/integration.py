"""What a vendor's developer needs from the vendor page: this vendor's URLs and the token
exchange (protocol.md §4) as copy-paste code. POST keeps the token out of access logs."""

from urllib.parse import quote

from portal.front_ends import SECRET_VARIABLE, Endpoint, Sample


def endpoints(base: str, key: str) -> list[Endpoint]:
    vendor = quote(key, safe="")
    return [
        Endpoint("signin", "Sign-in", f"{base}/sso/signin?vendor={vendor}"),
        Endpoint("signout", "Sign-out", f"{base}/sso/signout?vendor={vendor}"),
        Endpoint("user", "User service", f"{base}/api/sso/user"),
    ]


def samples(base: str, key: str) -> list[Sample]:
    user = f"{base}/api/sso/user"
    return [
        Sample("curl", "curl", "bash", _curl(user, key)),
        Sample("python", "Python", "python", _python(user, key)),
        Sample("php", "PHP", "php", _php(user, key)),
        Sample("node", "Node.js", "javascript", _node(user, key)),
    ]


def _curl(user: str, key: str) -> str:
    return (
        f'curl -s --connect-timeout 3 --max-time 10 -u "{key}:${SECRET_VARIABLE}" \\\n'
        f'  --data-urlencode "token=$TOKEN" \\\n  {user}'
    )


def _python(user: str, key: str) -> str:
    return f"""import os

import httpx

# In the handler of your token URL: `token` is the POSTed form field.
response = httpx.post(
    "{user}",
    data={{"token": token}},
    auth=("{key}", os.environ["{SECRET_VARIABLE}"]),
    timeout=httpx.Timeout(10, connect=3),  # a portal that does not answer must not hold you
)
response.raise_for_status()
member = response.json()"""


def _php(user: str, key: str) -> str:
    # $_SERVER, not getenv(): PHP-FPM's default clear_env hides the shell's environment, and
    # an empty secret reads as a wrong one. The state check comes first (vendors.md step 2).
    return f"""<?php
// Your token URL's handler. The API secret comes from your server's configuration: $_SERVER
// holds what PHP-FPM (env[{SECRET_VARIABLE}] in the pool), Apache (SetEnv) or nginx
// (fastcgi_param) passes on; getenv() is empty under PHP-FPM's default clear_env.
$secret = $_SERVER["{SECRET_VARIABLE}"] ?? "";
// 1. Your state: made by your sign-in link, kept in a cookie SameSite=None; Secure; HttpOnly.
$state = $_COOKIE["portal_state"] ?? null;
$posted = $_POST["state"] ?? null;
if (!is_string($state) || $state === "" || !is_string($posted) || !hash_equals($state, $posted)) {{
    http_response_code(400);
    exit("This sign-in did not start here: please sign in again.");
}}
setcookie("portal_state", "", ["expires" => 1, "path" => "/", "secure" => true,
    "httponly" => true, "samesite" => "None"]); // a state works once
// 2. Your passive check: the member is not signed in at the portal. Touch no session.
if (($_POST["error"] ?? null) === "login_required") {{
    header("Location: /", true, 303);
    exit;
}}
// 3. Redeem the token, once, with short timeouts: a portal that does not answer must not
// hold your visitor (never redeem the same token again after a timeout).
$ch = curl_init("{user}");
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => http_build_query(["token" => (string) ($_POST["token"] ?? "")]),
    CURLOPT_USERPWD => "{key}:" . $secret,
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_CONNECTTIMEOUT => 3,
    CURLOPT_TIMEOUT => 10,
]);
$body = curl_exec($ch);
$status = $body === false ? 0 : curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
$answer = json_decode((string) $body, true);
if ($status !== 200) {{
    // Log the status and error code: never the token or the secret.
    error_log("portal user service: HTTP $status " . ($answer["error"] ?? curl_error($ch)));
    http_response_code($status === 400 ? 400 : 503);
    exit(match (true) {{
        $status === 400 => "That sign-in has expired: please sign in again.",
        $status === 401 => "Sign-in is misconfigured here: the vendor key or API secret is wrong.",
        $status === 403 => "Member sign-in is turned off for this site: please contact us.",
        $status === 429 => "Too many sign-ins just now: please try again in a minute.",
        default => "Member sign-in is unavailable just now: please try again in a few minutes.",
    }});
}}
$member = $answer; // start a fresh session for the member; keep $member["sid"] with it"""


def _node(user: str, key: str) -> str:
    return f"""// Node 18+: in the handler of your token URL (req.body.token is the POSTed field).
const credentials = Buffer.from(`{key}:${{process.env.{SECRET_VARIABLE}}}`).toString("base64");
const response = await fetch("{user}", {{
  method: "POST",
  headers: {{ Authorization: `Basic ${{credentials}}` }},
  body: new URLSearchParams({{ token: req.body.token }}),
  signal: AbortSignal.timeout(10_000), // a portal that does not answer must not hold you
}});
if (!response.ok) throw new Error(`sign-in failed: ${{response.status}}`);
const member = await response.json();"""

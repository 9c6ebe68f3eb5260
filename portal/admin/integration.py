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
        f'curl -s -u "{key}:${SECRET_VARIABLE}" \\\n  --data-urlencode "token=$TOKEN" \\\n  {user}'
    )


def _python(user: str, key: str) -> str:
    return f"""import os

import httpx

# In the handler of your token URL: `token` is the POSTed form field.
response = httpx.post(
    "{user}",
    data={{"token": token}},
    auth=("{key}", os.environ["{SECRET_VARIABLE}"]),
    timeout=10,
)
response.raise_for_status()
member = response.json()"""


def _php(user: str, key: str) -> str:
    return f"""<?php
$ch = curl_init("{user}");
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => http_build_query(["token" => $_POST["token"]]),
    CURLOPT_USERPWD => "{key}:" . getenv("{SECRET_VARIABLE}"),
    CURLOPT_RETURNTRANSFER => true,
]);
$body = curl_exec($ch);
if (curl_getinfo($ch, CURLINFO_HTTP_CODE) !== 200) {{
    exit("sign-in failed");
}}
$member = json_decode($body, true);"""


def _node(user: str, key: str) -> str:
    return f"""// Node 18+: in the handler of your token URL (req.body.token is the POSTed field).
const credentials = Buffer.from(`{key}:${{process.env.{SECRET_VARIABLE}}}`).toString("base64");
const response = await fetch("{user}", {{
  method: "POST",
  headers: {{ Authorization: `Basic ${{credentials}}` }},
  body: new URLSearchParams({{ token: req.body.token }}),
}});
if (!response.ok) throw new Error(`sign-in failed: ${{response.status}}`);
const member = await response.json();"""

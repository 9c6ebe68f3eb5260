"""A browser played over httpx, for tests of the demo vendor against a live portal without
Chromium: it follows redirects, keeps cookies per host, and submits the portal's token-post
form the way autopost.js does."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from portal.demo.data import DEMO_PASSWORD


@dataclass
class Form:
    action: str
    method: str
    id: str | None
    fields: dict[str, str] = field(default_factory=dict)


class Html(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.forms: list[Form] = []
        self._href: str | None = None
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in values:
            self._href, self._text = values["href"], []
        elif tag == "form":
            method = values.get("method", "get").lower()
            self.forms.append(Form(values.get("action", ""), method, values.get("id")))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


@dataclass
class Page:
    response: httpx.Response

    @property
    def url(self) -> str:
        return str(self.response.url)

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def html(self) -> Html:
        return Html(self.text)

    def link(self, text: str) -> str:
        found = [href for href, label in self.html.links if text in label]
        assert found, f"no link {text!r} on {self.url}"
        return urljoin(self.url, found[0])

    def form(self, action: str) -> Form:
        found = [form for form in self.html.forms if action in form.action]
        assert found, f"no form posting to {action!r} on {self.url}"
        return found[0]


class Browser:
    def __init__(self) -> None:
        self.client = httpx.Client(follow_redirects=True, timeout=15)
        self.visited: list[str] = []

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def record(self, response: httpx.Response) -> Page:
        # Browsers count http://localhost as a secure context and send its Secure cookies;
        # http.cookiejar would not (and httpx copies the jar without its policy per request).
        for cookie in self.client.cookies.jar:
            cookie.secure = False
        self.visited += [str(r.url) for r in response.history] + [str(response.url)]
        return Page(response)

    def get(self, url: str) -> Page:
        return self.record(self.client.get(url))

    def post(self, url: str, data: dict[str, str]) -> Page:
        return self.record(self.client.post(url, data=data))

    def submit(self, page: Page, action: str, **values: str) -> Page:
        form = page.form(action)
        return self.post(urljoin(page.url, form.action), {**form.fields, **values})

    def auto_post(self, page: Page) -> Page:
        """What autopost.js does on the portal's token-post page."""
        assert page.response.status_code == 200, page.text
        form = next(form for form in page.html.forms if form.id == "token-post")
        return self.post(form.action, form.fields)

    def sign_in(self, start: str, login: str = "ada", password: str = DEMO_PASSWORD) -> Page:
        """From a vendor page: its sign-in link, the portal's form, back to the vendor."""
        portal_form = self.get(self.get(start).link("Sign in with"))
        return self.auto_post(
            self.submit(portal_form, "/sign-in", username=login, password=password)
        )

"""A browser's User-Agent header as staff read it: "Chrome 120 on Windows", not 60 cut characters.
Only the common browsers and systems are named; anything else is "Other browser"."""

import re

# Order matters: Edge, Opera and Samsung Internet also say "Chrome", and Chrome says "Safari".
BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"(?:OPR|Opera)/(\d+)"),
    ("Samsung Internet", r"SamsungBrowser/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Chrome", r"(?:Chrome|CriOS|HeadlessChrome)/(\d+)"),
    ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
    ("curl", r"^curl/(\d+)"),
)
SYSTEMS: tuple[tuple[str, str], ...] = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("ChromeOS", r"CrOS"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux|X11"),
)


def browser_name(user_agent: str | None) -> str:
    """`Mozilla/5.0 (Windows NT 10.0; …) … Chrome/120.0.0.0 Safari/537.36` -> "Chrome 120 on
    Windows"."""
    if not user_agent:
        return "Unknown browser"
    browser = next(
        (f"{name} {found.group(1)}" for name, pattern in BROWSERS
         if (found := re.search(pattern, user_agent))),
        "Other browser",
    )  # fmt: skip
    system = next((name for name, pattern in SYSTEMS if re.search(pattern, user_agent)), None)
    return f"{browser} on {system}" if system else browser

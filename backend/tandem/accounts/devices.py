"""Naming a signed-in device the way a person would ("Chrome on Android"), from its user agent.

The parsing is ua-parser's (the uap-core rules, released every few months as
`ua-parser-builtins`), not hand-written patterns: user agents change with every browser release.
Only the short name is kept: a full user-agent string identifies a device far more precisely
than anyone needs to recognise it in a list.
"""

from functools import lru_cache

from ua_parser import parse

# ua-parser's family names, as a person knows the browser.
_BROWSERS = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome",
    "HeadlessChrome": "Chrome",
    "Chromium": "Chromium",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Samsung Internet": "Samsung Internet",
}
_SYSTEMS = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}
MAX_LENGTH = 120


@lru_cache(maxsize=256)
def describe(user_agent: str | None) -> str | None:
    """A short name such as "Chrome on Android"; None when nothing is recognised."""
    if not user_agent:
        return None
    found = parse(user_agent[:1000])
    browser = found.user_agent.family if found.user_agent else None
    system = found.os.family if found.os else None
    browser = _BROWSERS.get(browser or "", browser) if browser != "Other" else None
    system = _SYSTEMS.get(system or "", system) if system != "Other" else None
    if browser and system:
        return f"{browser} on {system}"[:MAX_LENGTH]
    if browser:
        return browser[:MAX_LENGTH]
    if system:
        return f"A browser on {system}"[:MAX_LENGTH]
    return None


def stored_label(device: str | None) -> str | None:
    """What the devices list shows for a stored value. Sign-ins store the short name; rows
    from before that stored the raw user agent (every browser's contains a "/"), named now."""
    if device and "/" in device:
        return describe(device)
    return device

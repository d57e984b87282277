"""The name of a device in a message: browser family and OS family, never client text.

A User-Agent is whatever the client sends. ``ua-parser`` (the maintained port of
uap-core's rules) recognises it, but some of its rules copy part of the header
into the family (``$1``), so its answer is mapped through the allowlists below:
only names written here ever reach an SMS, at most ``MAX_LENGTH`` characters.
"""

from __future__ import annotations

from functools import lru_cache

MAX_LENGTH = 40
UNKNOWN_BROWSER = "браузер"
UNKNOWN_SYSTEM = "неизвестная система"

#: ua-parser browser family → the name used in messages.
BROWSERS = {
    "Chrome": "Chrome",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome",
    "Chromium": "Chromium",
    "HeadlessChrome": "Chrome",
    "Firefox": "Firefox",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Safari": "Safari",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Edge": "Edge",
    "Edge Mobile": "Edge",
    "Opera": "Opera",
    "Opera Mobile": "Opera",
    "Opera Mini": "Opera",
    "Yandex Browser": "Яндекс Браузер",
    "Samsung Internet": "Samsung Internet",
    "MiuiBrowser": "Mi Browser",
    "Huawei Browser": "Huawei Browser",
    "Vivaldi": "Vivaldi",
    "Brave": "Brave",
    "UC Browser": "UC Browser",
    "IE": "Internet Explorer",
}

#: ua-parser OS family → the name used in messages.
SYSTEMS = {
    "Android": "Android",
    "iOS": "iOS",
    "iPadOS": "iPadOS",
    "Windows": "Windows",
    "Mac OS X": "macOS",
    "Linux": "Linux",
    "Ubuntu": "Linux",
    "Fedora": "Linux",
    "Debian": "Linux",
    "Chrome OS": "ChromeOS",
    "HarmonyOS": "HarmonyOS",
}


def device_family(user_agent: str | None) -> str:
    """«Chrome, Android»-style name of a User-Agent, from the allowlists only."""
    browser, system = _families((user_agent or "")[:512])
    return f"{browser}, {system}"[:MAX_LENGTH]


@lru_cache(maxsize=256)
def _families(user_agent: str) -> tuple[str, str]:
    # ua-parser compiles its rules on first use (≈ 0.3 s): loaded only when a
    # notice is due, never on the sign-in path of a known device.
    # lazy: ua-parser ≈ 102 ms CPU at cold start; only _families() needs it
    from ua_parser import parse_os, parse_user_agent

    agent = parse_user_agent(user_agent) if user_agent else None
    system = parse_os(user_agent) if user_agent else None
    browser_name = BROWSERS.get(agent.family if agent else "", UNKNOWN_BROWSER)
    system_name = SYSTEMS.get(system.family if system else "", UNKNOWN_SYSTEM)
    return browser_name, system_name

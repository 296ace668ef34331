"""Keep credentials out of everything mwaadeps prints, logs or writes."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def redact_url(url: str) -> str:
    """The URL with any user:password replaced by ****."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"****@{host}", parts.path, parts.query, parts.fragment))


def has_credentials(url: str) -> bool:
    """True when the URL carries a literal user or password (not a ${VAR} placeholder)."""
    match = _USERINFO.search(url)
    if not match:
        return False
    userinfo = match.group("userinfo")
    return not re.fullmatch(r"(\$\{\w+\}|\$\w+)(:(\$\{\w+\}|\$\w+))?", userinfo)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Text with userinfo in URLs and every given secret value masked."""
    out = _USERINFO.sub(lambda m: f"{m.group('scheme')}****@", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "****")
    return out

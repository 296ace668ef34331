"""Keep credentials out of everything mwaadeps prints, logs or writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

# userinfo runs to the LAST `@` before the host: an unencoded `@` in a password
# (`user:p@ss@host`) must not leave half of it visible.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s]+)@")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_PLACEHOLDER = re.compile(r"(\$\{\w+\}|\$\w+)(:(\$\{\w+\}|\$\w+))?")


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """(scheme://, userinfo or None, rest after the `@`), the userinfo up to the last `@`."""
    match = _USERINFO.match(url)
    if match is None:
        scheme, sep, rest = url.partition("://")
        return (scheme + sep, None, rest) if sep else ("", None, url)
    return match.group("scheme"), match.group("userinfo"), url[match.end() :]


def redact_url(url: str) -> str:
    """The URL with any user:password replaced by ****."""
    scheme, userinfo, rest = split_userinfo(url)
    if userinfo is None:
        return url
    return f"{scheme}****@{rest}"


def has_credentials(url: str) -> bool:
    """True when the URL carries a literal user or password (not a ${VAR} placeholder)."""
    match = _USERINFO.search(url)
    if not match:
        return False
    return not _PLACEHOLDER.fullmatch(match.group("userinfo"))


def strip_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without userinfo, (user, password) percent-decoded, or None)."""
    scheme, userinfo, rest = split_userinfo(url)
    if userinfo is None:
        return url, None
    user, _, password = userinfo.partition(":")
    return f"{scheme}{rest}", (unquote(user), unquote(password))


def with_credentials(url: str, user: str | None, password: str | None) -> str:
    """The URL with user:password inserted, each percent-encoded (`/`, `#`, `@` are safe)."""
    if user is None and password is None:
        return url
    bare, _ = strip_credentials(url)
    scheme, sep, rest = bare.partition("://")
    auth = quote(user or "", safe="")
    if password is not None:
        auth += ":" + quote(password, safe="")
    return f"{scheme}{sep}{auth}@{rest}"


def host_key(url: str) -> str:
    """host[:port] of a URL (lower-case), to match credentials to downloads."""
    parts = urlsplit(strip_credentials(url)[0])
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Text with userinfo in URLs and every given secret value (raw or encoded) masked."""

    def mask(match: re.Match[str]) -> str:
        if _PLACEHOLDER.fullmatch(match.group("userinfo")):
            return match.group(0)  # ${VAR} placeholders are no secret
        return f"{match.group('scheme')}****@"

    out = _USERINFO.sub(mask, text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            for form in {secret, quote(secret, safe="")}:
                out = out.replace(form, "****")
    return out


def _userinfo_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, userinfo start, ``@`` index) of each ``scheme://userinfo@``, in linear time.

    The same matches as ``[a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s]+@`` found left to right: the
    userinfo runs to the LAST ``@`` before the host, so an unencoded ``@`` in a password
    is masked with the rest of it.
    """
    floor = 0
    at = text.find("://")
    while at != -1:
        start = at
        while start > floor and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        while start < at and not (text[start].isascii() and text[start].isalpha()):
            start += 1
        end = at + 3
        last = -1
        while end < len(text) and text[end] != "/" and not text[end].isspace():
            if text[end] == "@":
                last = end
            end += 1
        if start < at and last > at + 3:
            yield start, at + 3, last
            floor = last + 1
            at = text.find("://", floor)
        else:
            at = text.find("://", at + 1)


def literal_credentials(url: str) -> bool:
    """True when ``url`` carries a literal secret (``git@`` of an ssh URL is a user, not one)."""
    span = next(_userinfo_spans(url), None)
    if span is None:
        return False
    start, info, at = span
    if not has_credentials(url[start : at + 1]):
        return False
    ssh_user = url[start:info].lower().endswith("ssh://") and ":" not in url[info:at]
    return not ssh_user


def redact(text: str) -> str:
    """Mask literal credentials in every URL of ``text``; ``${VAR}`` placeholders stay."""
    out: list[str] = []
    done = 0
    for start, info, at in _userinfo_spans(text):
        if literal_credentials(text[start : at + 1]):
            out.append(text[done:info] + "****@")
            done = at + 1
    out.append(text[done:])
    return "".join(out)

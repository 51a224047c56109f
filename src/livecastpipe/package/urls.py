"""Addresses of the site's files as the file that refers to them must write them: relative to where
that file is served when no public address is configured, absolute under the public address when one is.

Paths are paths inside the published site (`slug/poster.jpg`, `slug/` for a folder), never folders on
disk, so the links hold wherever the site is served from.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote


def site_url(path: str, base_url: str | None, referrer: str = "") -> str:
    """The URL of `path` (inside the site; a `#fragment` kept) written in the file served at `referrer`
    (inside the site: `feed.xml`, `slug/index.html`): absolute under `base_url`, else relative to `referrer`."""
    target, hash_sign, fragment = path.partition("#")
    if base_url:
        url = base_url.rstrip("/") + "/" + target
    else:
        folder = posixpath.dirname(referrer) or "."
        url = posixpath.relpath(target or ".", folder)
        if target.endswith("/") or not target:
            url = "./" if url == "." else url + "/"
    return quote(url, safe="/:@!$&'()*+,;=-._~%") + hash_sign + fragment

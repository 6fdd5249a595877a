"""What a page must look like under the Content-Security-Policy: the header, strict, and no inline
script, style element, style attribute or event handler in the HTML (the policy would block them:
the page would silently lose its behaviour or looks)."""

import re

INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I),
}


def assert_csp_clean(response) -> None:
    policy = response.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives.get("script-src") == "'self'", policy
    assert directives.get("style-src") == "'self'", policy
    assert directives.get("object-src") == "'none'" and directives.get("frame-ancestors") == "'none'"
    assert "unsafe" not in policy
    html = response.content.decode()
    found = {name: pattern.findall(html)[:3] for name, pattern in INLINE.items()
             if pattern.search(html)}
    assert found == {}, f"{response.request['PATH_INFO']}: {found}"

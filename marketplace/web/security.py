"""Response headers that every page gets. The CSP allows no inline script.

A view may narrow or widen one directive for its own response only (`page_policy`),
and a stored document shown inside one of our pages gets a policy of its own
(`framed_document`): nothing runs in it, and only our pages may frame it.
"""
from __future__ import annotations

from functools import wraps

from flask import Flask, Response, make_response

DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CSP = "; ".join(f"{name} {value}" for name, value in DIRECTIVES.items())
# A stored document (PDF, image) shown in a frame of our own page: it may run nothing,
# load nothing, and be framed by our pages only. The `sandbox` directive gives it a
# unique origin; Chromium's PDF viewer still renders it (a sandboxed <iframe> would not).
DOCUMENT_CSP = "default-src 'none'; img-src 'self'; frame-ancestors 'self'; sandbox"


def policy(**overrides: str) -> str:
    """The site's policy with some directives replaced or added: frame_src="'self'"."""
    directives = dict(DIRECTIVES)
    directives.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def page_policy(**overrides: str):
    """A view whose page needs a directive of its own (e.g. frames of our own documents)."""
    header = policy(**overrides)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            response = make_response(view(*args, **kwargs))
            response.headers["Content-Security-Policy"] = header
            return response
        return wrapped
    return decorator


def framed_document(response: Response) -> Response:
    """A stored file served to be shown inside one of our pages."""
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Permissions-Policy"] = "geolocation=(self), camera=(self), microphone=()"
        if app.config.get("HSTS"):
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

"""The domain exception family and the one place that renders errors.

Services raise these; views never build error responses by hand. Requests
under /api/ (or asking for JSON) get `{"error": {"code", "message", "fields"}}`;
everyone else gets an HTML page.
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None,
                 code: str | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.fields = fields or {}
        if code:
            self.code = code


class NotFound(DomainError):
    """That does not exist, or is not yours to see."""
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    """You do not have permission to do that."""
    status = 403
    code = "permission_denied"


class InvalidState(DomainError):
    """That is not possible in the object's current state."""
    status = 409
    code = "invalid_state"


class ValidationFailed(DomainError):
    """Some of the input is not valid."""
    status = 422
    code = "validation_failed"

    @classmethod
    def field(cls, name: str, reason: str) -> "ValidationFailed":
        return cls(reason, fields={name: reason})


class TooLarge(ValidationFailed):
    """The file is too large."""
    status = 413
    code = "too_large"

    @staticmethod
    def file_message() -> str:
        """What a person is told of a file over UPLOAD_MAX_BYTES, on the form or the API."""
        limit = current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)
        return f"The file is too large: the limit is {limit} MB."


class MalformedRequest(DomainError):
    """The request could not be read (not JSON, or nested too deeply)."""
    status = 400
    code = "bad_request"


class Unauthenticated(DomainError):
    """Sign in first."""
    status = 401
    code = "unauthenticated"


class FundsMissing(InvalidState):
    """The firm's funds do not cover this; top up or ask for terms."""
    code = "funds_missing"

    def __init__(self, message: str = "", *, missing_cents: int, currency: str = "USD"):
        super().__init__(message, fields={"funds": message} if message else None)
        self.missing_cents = missing_cents
        self.currency = currency


class PaymentError(DomainError):
    """The payment could not be made."""
    status = 402
    code = "payment_failed"


class CardDeclined(PaymentError):
    """The card was declined."""
    code = "card_declined"


class InsufficientFunds(PaymentError):
    """There is not enough money for this."""
    status = 409
    code = "insufficient_funds"


class PaymentServiceUnavailable(PaymentError):
    """The payment service did not answer; try again in a minute."""
    status = 503
    code = "payment_service_unavailable"


class PaymentConflict(PaymentError):
    """This payment request was already made with different details."""
    status = 409
    code = "payment_conflict"


HTTP_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "permission_denied",
    404: "not_found", 405: "method_not_allowed", 409: "invalid_state",
    413: "too_large", 422: "validation_failed", 429: "rate_limited",
    500: "internal_error",
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def _too_large_message() -> str:
    """A 413 before the body was read: a form with a file past even the multipart cap
    (core/uploads.UploadRequest), or any other body past MAX_CONTENT_LENGTH."""
    if request.mimetype == "multipart/form-data":
        return TooLarge.file_message()
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return f"The request is too large: the limit is {limit} MB."


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        return jsonify(body), status
    template = f"errors/{status}.html" if status in (403, 404, 429) else "errors/generic.html"
    return render_template(template, status=status, code=code, message=message,
                           fields=fields or {}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        from .extensions import db
        db.session.rollback()
        if isinstance(err, Unauthenticated) and not wants_json():
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        return error_response(err.status, err.code, err.message, err.fields)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        message = err.description or err.name
        if status == 400 and "CSRF" in (err.description or ""):
            return error_response(400, "csrf_failed",
                                  "The form expired or was not sent from this site. "
                                  "Reload the page and try again.")
        if status == 413:
            message = _too_large_message()
        if status == 429:
            message = "Too many attempts. Wait a minute and try again."
        body, status = error_response(status, HTTP_CODES.get(status, "error"), message)
        if isinstance(err, MethodNotAllowed):
            # The methods the URL does answer (RFC 9110 requires Allow on a 405).
            return body, status, {"Allow": err.get_response().headers.get("Allow", "")}
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unhandled error")
        from .extensions import db
        db.session.rollback()
        return error_response(500, "internal_error",
                              "Something went wrong on our side. It has been logged.")

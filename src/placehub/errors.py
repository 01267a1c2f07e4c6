"""Errors a user can meet, each mapped to one HTTP status and a message that says what to fix."""


class PlacehubError(Exception):
    """Base of errors that come from the request or the data, not from a bug."""

    status_code = 400
    headers: dict[str, str] = {}  # sent with the error response

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(PlacehubError):
    status_code = 400


class Unauthorized(PlacehubError):
    status_code = 401
    # RFC 9110: a 401 names the schemes accepted. An API token goes in either one.
    headers = {"WWW-Authenticate": 'Bearer realm="placehub", Basic realm="placehub", '
                                   'charset="UTF-8"'}


class Forbidden(PlacehubError):
    status_code = 403


class NotFound(PlacehubError):
    status_code = 404


class Conflict(PlacehubError):
    status_code = 409


class PayloadTooLarge(PlacehubError):
    status_code = 413


class UnsupportedMediaType(PlacehubError):
    status_code = 415


class Unprocessable(PlacehubError):
    status_code = 422


class MethodNotAllowed(PlacehubError):
    """The addressed resource exists but does not accept this method (e.g. writing a root)."""

    status_code = 405


class Unsupported(PlacehubError):
    """A valid request for something this service does not offer (501 Not Implemented)."""

    status_code = 501

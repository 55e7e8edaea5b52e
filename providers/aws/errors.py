"""Plain sentences for what went wrong talking to AWS or an EC2-compatible endpoint."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from botocore import exceptions as bx

from gridclient.actions import ElementGone
from gridclient.elements import Element
from gridclient.tokens import SettingsFix

BAD_KEY = {"InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "InvalidAccessKeyId",
           "UnrecognizedClientException", "IncompleteSignature", "InvalidToken"}
DENIED = {"AccessDenied", "UnauthorizedOperation", "AccessDeniedException", "AllAccessDisabled",
          "Forbidden", "UnauthorizedAccess"}
SKEW = {"RequestTimeTooSkewed", "SignatureExpired", "RequestExpired", "RequestInTheFuture"}
# STS and others report a skewed clock as SignatureDoesNotMatch with "Signature expired: … is now
# earlier than …"; telling the person to check their key would send them the wrong way
# what EC2 and S3 answer about an id that names nothing (any more)
NOT_FOUND = re.compile(r"\.NotFound$|^NoSuch(Bucket|Key|Upload)$|^InvalidKeyPair\.NotFound$")
SKEW_WORDS = re.compile(r"signature expired|signature not yet current|is now (earlier|later) than|too skewed",
                        re.IGNORECASE)


def _origin(url: str) -> str:
    """scheme://host:port of a URL: no path or query (an S3 request's bucket and key), and never a
    user or password (a proxy URL carries them)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url or "")
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)"
    return f"{parts.scheme}://{host}{port}" if parts.scheme and host else ("(no URL)" if not url else "(unreadable URL)")


def explain(exc: BaseException) -> str:
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code, msg = err.get("Code") or "", err.get("Message") or ""  # some servers send no Message
        op = getattr(exc, "operation_name", "") or "the request"
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 407:  # a plain-HTTP endpoint behind a proxy that wants other credentials
            return SettingsFix("The proxy asked for a user name and password, or refused the ones given "
                               "(HTTP 407). Check the proxy user and password of the VO.")
        if code in SKEW or SKEW_WORDS.search(msg):
            return (f"This computer's clock differs too much from the server's ({code}). "
                    "Set the system clock (enable NTP) and try again.")
        if code in BAD_KEY:
            return SettingsFix(f"The access key id or secret access key was not accepted ({code}). "
                               "Check them, or use a named profile.")
        if code == "ExpiredToken" or code == "ExpiredTokenException":
            return SettingsFix("The session token has expired. Get new temporary credentials and "
                               "enter them in the VO.")
        if code in DENIED:
            return (f"Access denied: this account may not call {op} ({code}). "
                    "Ask the account's administrator for the permission; the rest keeps working.")
        if code == "NoSuchBucket":
            return "The bucket no longer exists. Refresh its parent (F5)."
        if not code:
            return f"{op} failed: the server answered HTTP {status} without saying why."
        return f"{op} failed: {code}: {msg}".strip()
    if isinstance(exc, bx.ProxyConnectionError):
        return SettingsFix(f"The proxy refused the connection or could not be reached "
                           f"({_origin(exc.kwargs.get('proxy_url', ''))}). Check the proxy address, user and password.")
    if isinstance(exc, (bx.ConnectTimeoutError, bx.EndpointConnectionError, bx.ConnectionClosedError)):
        url = _origin(getattr(exc, "kwargs", {}).get("endpoint_url", ""))
        return SettingsFix(f"Could not reach the endpoint {url}. Check the endpoint URL and your network; "
                           "if you are behind a proxy, set it in the VO.")
    if isinstance(exc, bx.ReadTimeoutError):
        return "The server did not answer in time. Try again (F5)."
    if isinstance(exc, bx.NoCredentialsError):
        return SettingsFix("No credentials: enter an access key or choose a named profile for this VO.")
    if isinstance(exc, bx.ProfileNotFound):
        return SettingsFix(f"{exc}. Choose a profile that exists in ~/.aws/config or ~/.aws/credentials.")
    if isinstance(exc, bx.PartialCredentialsError):
        return SettingsFix(f"{exc}. Both the access key id and the secret access key are needed.")
    if isinstance(exc, bx.SSLError):
        return SettingsFix(f"The TLS connection failed ({exc}). Check the endpoint URL's scheme and certificate.")
    if isinstance(exc, bx.ParamValidationError):
        return f"Bad input: {exc}"
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):  # a web page, a proxy's error page: not EC2's or S3's XML
        return SettingsFix("The server answered with something that is not the AWS API (a web page?). "
                           "Check the endpoint URL of the VO: it should be the EC2 or S3 service's.")
    return str(exc) or type(exc).__name__


@contextmanager
def acting_on(elements: list[Element]) -> Iterator[None]:
    """Around a call on the elements' ids: an answer that they name nothing becomes ElementGone,
    told in words (an instance removed outside the app, a bucket deleted meanwhile)."""
    try:
        yield
    except bx.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if not NOT_FOUND.search(code):
            raise
        if len(elements) == 1:
            e = elements[0]
            named = f"“{e.label}” ({e.id})" if e.label != e.id else e.id
            raise ElementGone(f"{named} no longer exists: it was removed outside this app. "
                              "The list it was in is reloaded.") from exc
        labels = ", ".join(e.label for e in elements[:5]) + (" …" if len(elements) > 5 else "")
        raise ElementGone(f"Some of {labels} no longer exist ({code}): they were removed outside "
                          "this app. The list they were in is reloaded.") from exc

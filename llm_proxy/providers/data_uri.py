"""`data:` URIs (images and files sent inline by OpenAI clients) as media type + base64."""
from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from ..errors import InvalidRequest

_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[^;,]*)*),(.*)", re.S)
# Names clients use that the providers do not accept as media types.
_MEDIA_ALIASES = {"image/jpg": "image/jpeg"}


def parse_data_uri(uri: str, param: str) -> tuple[str, str]:
    """(media type, base64 data) of `data:<type>[;base64],<data>`, or InvalidRequest naming `param`."""
    match = _DATA_URI.fullmatch(uri.strip()) if isinstance(uri, str) else None
    if not match:
        raise InvalidRequest(f"'{param}' must be a data: URI (data:<type>;base64,<data>).",
                             param=param, code="invalid_value")
    media_type = match.group(1).lower()
    flags = [f.strip().lower() for f in match.group(2).split(";") if f.strip()]
    data = match.group(3)
    if "base64" in flags:
        data = re.sub(r"\s+", "", data)
        try:
            binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise InvalidRequest(f"'{param}' does not hold valid base64 data.", param=param,
                                 code="invalid_value") from None
    else:
        # Percent-encoded text (RFC 2397); providers take base64 only.
        try:
            data = base64.b64encode(unquote_to_bytes(data.encode("utf-8"))).decode("ascii")
        except UnicodeEncodeError:
            raise InvalidRequest(f"The data: URI in '{param}' is not valid text.", param=param,
                                 code="invalid_value") from None
    if not data:
        raise InvalidRequest(f"'{param}' holds no data.", param=param, code="invalid_value")
    return _MEDIA_ALIASES.get(media_type, media_type), data

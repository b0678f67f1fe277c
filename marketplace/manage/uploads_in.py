"""Reading a queued action that carries a file: multipart with `action` (JSON) and `file`.

The phone's sync and the API's proof endpoint take the same shape.
"""
from __future__ import annotations

import json

from flask import request

from ..core.uploads import Upload
from ..errors import ValidationFailed


def action_with_file() -> tuple[dict, Upload]:
    try:
        meta = json.loads(request.form.get("action") or "{}")
    except ValueError:
        raise ValidationFailed.field("action", "Send the action as JSON.") from None
    if not isinstance(meta, dict):
        raise ValidationFailed.field("action", "Send the action as an object.")
    file = request.files.get("file")
    upload = Upload(filename=(file.filename or "") if file else "",
                    data=file.read() if file else b"")
    return meta, upload

"""A multipart/form-data body read as it streams in: the bytes of its `file` part are handed
to a writer chunk by chunk (which may refuse them, e.g. past a size limit), nothing else is
kept, and the whole body is never held in memory or spooled by the framework."""

from __future__ import annotations

from collections.abc import Callable

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from parley.errors import MalformedRequest, PayloadTooLarge, ValidationFailed

FILE_FIELD = "file"
ENVELOPE_BYTES = 64 * 1024
"""What the body may carry beyond the file itself: boundaries, part headers, other fields."""


async def read_file_part(
    request: Request, write: Callable[[bytes], None], *, max_file_bytes: int
) -> str | None:
    """Feed the `file` part to `write`; returns the filename the client gave (if any).

    Raises MalformedRequest for a body that is not multipart, ValidationFailed
    (`file_required`) when there is no `file` part, PayloadTooLarge (`upload_too_large`)
    for a body longer than the file limit and its envelope, and whatever `write` raises."""
    max_body = max_file_bytes + ENVELOPE_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise _too_large(max_file_bytes)
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise MalformedRequest(
            "Send the file as multipart/form-data, in a part named 'file'.",
            code="multipart_required",
        )
    part = _PartState(write)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": part.on_part_begin,
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
            "on_part_data": part.on_part_data,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_body:
                raise _too_large(max_file_bytes)
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise MalformedRequest(
            "The multipart body is malformed.", code="malformed_multipart"
        ) from exc
    if not part.found:
        raise ValidationFailed(
            "Send the file in a part named 'file'.", code="file_required", field="file"
        )
    return part.filename


def _too_large(max_file_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"An upload holds at most {max_file_bytes} bytes.",
        code="upload_too_large",
        limit_bytes=max_file_bytes,
    )


class _PartState:
    """The parser's callbacks: which part is the file, and its headers as they arrive."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self.write = write
        self.found = False
        self.filename: str | None = None
        self.in_file = False
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""

    def on_part_begin(self) -> None:
        self.headers.clear()
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field = self.value = b""

    def on_headers_finished(self) -> None:
        _, disposition = parse_options_header(self.headers.get(b"content-disposition", b""))
        if disposition.get(b"name") == FILE_FIELD.encode() and not self.found:
            self.found = self.in_file = True
            name = disposition.get(b"filename")
            self.filename = name.decode("utf-8", "replace") if name else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.write(data[start:end])

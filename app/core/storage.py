"""Evidence file storage: a streamed multipart upload, its type judged from its bytes, and a
content-addressed folder of blobs.

A blob is stored at ``<root>/<sha[:2]>/<sha>``, so identical content is kept once. An upload
is written to ``<root>/tmp`` while it streams in, hashed on the way, and moved into place
with ``os.replace`` (atomic on one filesystem), so a reader never sees half a file. Reading
stops as soon as the upload passes the size limit. Every file operation runs in a thread.
"""

import asyncio
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.config import Settings
from app.core.errors import FieldValidationError, MalformedRequestError, PayloadTooLargeError

# Room for the multipart envelope (boundaries, part headers) around the file itself.
ENVELOPE_BYTES = 64 * 1024
FILE_FIELD = "file"

# (content type, extension, test on the first bytes). The declared Content-Type and the
# file name are never trusted.
SIGNATURES: tuple[tuple[str, str, Callable[[bytes], bool]], ...] = (
    ("image/jpeg", "jpg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image/png", "png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/webp", "webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("application/pdf", "pdf", lambda b: b.startswith(b"%PDF-")),
)
_HEAD_BYTES = 16


def storage_root(settings: Settings) -> Path:
    return settings.storage_dir or settings.data_dir / "files"


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a supported file, from its first bytes; else None."""
    for content_type, extension, matches in SIGNATURES:
        if matches(head):
            return content_type, extension
    return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(raw: str, extension: str) -> str:
    """The name without any folder part (either separator) or control characters, at most
    255 characters with its extension kept; a name left empty becomes ``file.<ext>``."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().strip(".")
    if not name:
        return f"file.{extension}"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        suffix = f".{ext}" if dot and 0 < len(ext) <= 10 else ""
        name = (stem if suffix else name)[: 255 - len(suffix)] + suffix
    return name


@dataclass
class Upload:
    """A received file, still in its temporary place until ``place`` or ``discard``."""

    temp: Path
    sha256: str
    size: int
    content_type: str
    filename: str


@dataclass
class _Sink:
    temp: Path
    handle: BinaryIO
    hasher: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    head: bytes = b""

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.hasher.update(data)
        if len(self.head) < _HEAD_BYTES:
            self.head = (self.head + data)[:_HEAD_BYTES]


def _open_temp(root: Path) -> tuple[Path, BinaryIO]:
    folder = root / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    return Path(name), os.fdopen(fd, "wb")


def _close_and_remove(handle: BinaryIO, path: Path) -> None:
    handle.close()
    path.unlink(missing_ok=True)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    field_: bytes = b""
    value: bytes = b""
    is_file: bool = False
    ended: bool = False


class _Reader:
    """Callbacks of the streaming parser. They only collect; the caller writes the file
    data out (in a thread) after each chunk, so the event loop is never blocked."""

    def __init__(self) -> None:
        self.part = _Part()
        self.file: _Part | None = None
        self.filename = ""
        self.pending: list[bytes] = []

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.field_ += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.part.field_.lower()] = self.part.value
        self.part.field_, self.part.value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition"))
        if self.file is None and options.get(b"name") == FILE_FIELD.encode():
            self.part.is_file = True
            self.file = self.part
            self.filename = options.get(b"filename", b"").decode("utf-8", errors="replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.is_file:
            self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        self.part.ended = True


async def receive_upload(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    content_length: str | None,
    *,
    limit: int,
    root: Path,
) -> Upload:
    """Stream the ``file`` field of a multipart/form-data body into a temporary file.

    413 as soon as the file (or the whole body) passes the limit, without reading further;
    422 when there is no file field or its bytes are not JPEG, PNG, WebP or PDF; 400 for a
    broken multipart body. On any failure nothing is left behind.
    """
    media_type, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise FieldValidationError([(FILE_FIELD, "multipart_required")])
    if content_length and content_length.isdigit() and int(content_length) > limit + ENVELOPE_BYTES:
        raise PayloadTooLargeError(limit)
    reader = _Reader()
    try:
        parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
    except FormParserError as exc:
        raise MalformedRequestError() from exc
    temp, handle = await asyncio.to_thread(_open_temp, root)
    sink = _Sink(temp, handle)
    try:
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > limit + ENVELOPE_BYTES:
                raise PayloadTooLargeError(limit)
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise MalformedRequestError() from exc
            data, reader.pending = b"".join(reader.pending), []
            if data:
                if sink.size + len(data) > limit:
                    raise PayloadTooLargeError(limit)
                sink.size += len(data)
                await asyncio.to_thread(sink.write, data)
        if reader.file is None:
            raise FieldValidationError([(FILE_FIELD, "missing")])
        if not reader.file.ended:
            raise MalformedRequestError()
        detected = sniff(sink.head)
        if detected is None:
            raise FieldValidationError([(FILE_FIELD, "unsupported_file_type")])
        await asyncio.to_thread(handle.close)
    except BaseException:
        await asyncio.to_thread(_close_and_remove, handle, temp)
        raise
    return Upload(
        temp=temp,
        sha256=sink.hasher.hexdigest(),
        size=sink.size,
        content_type=detected[0],
        filename=clean_filename(reader.filename, detected[1]),
    )


def _place(root: Path, upload: Upload) -> None:
    target = blob_path(root, upload.sha256)
    if target.is_file():
        upload.temp.unlink(missing_ok=True)  # the same content is already stored
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload.temp, target)


async def place(root: Path, upload: Upload) -> None:
    """Move the upload to its content address (or drop it if that content is stored)."""
    await asyncio.to_thread(_place, root, upload)


async def discard(upload: Upload) -> None:
    await asyncio.to_thread(upload.temp.unlink, missing_ok=True)


async def remove_blob(root: Path, sha256: str) -> None:
    await asyncio.to_thread(blob_path(root, sha256).unlink, missing_ok=True)


async def blob_exists(root: Path, sha256: str) -> bool:
    return await asyncio.to_thread(blob_path(root, sha256).is_file)

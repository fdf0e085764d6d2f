"""The self-describing model artifact format.

An artifact is ``MAGIC`` (8 bytes) + SHA-256 of the payload (32 bytes) + payload, where the
payload is a zip holding ``metadata.json`` (kind, sport, stat, family, feature schema,
parameters) and the model's own files: XGBoost's UBJSON model, a torch ``state_dict`` saved
with ``torch.save`` (read back with ``weights_only=True``) or, for an ensemble, its members'
artifacts. Nothing is pickled. The digest makes any flipped byte a clear error instead of a
silently different model; zip entries carry a fixed timestamp so the same model always
serialises to the same bytes (and the same sha256 in the model registry).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

MAGIC = b"A1MODEL\x01"
FORMAT_VERSION = 1
_DIGEST_BYTES = 32
_FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def pack(metadata: dict, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = {"metadata.json": json.dumps({**metadata, "format_version": FORMAT_VERSION}, sort_keys=True)}
        entries.update(files)
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    payload = buffer.getvalue()
    return MAGIC + hashlib.sha256(payload).digest() + payload


def unpack(artifact: bytes) -> tuple[dict, dict[str, bytes]]:
    """(metadata, files) of an artifact; ValueError if it is not one or is corrupted."""
    if not isinstance(artifact, bytes | bytearray | memoryview):
        raise TypeError(f"a model artifact is bytes, not {type(artifact).__name__}")
    artifact = bytes(artifact)
    header = len(MAGIC) + _DIGEST_BYTES
    if len(artifact) <= header or artifact[: len(MAGIC)] != MAGIC:
        raise ValueError("not an A1 model artifact (missing A1MODEL header)")
    digest, payload = artifact[len(MAGIC) : header], artifact[header:]
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError("model artifact is corrupted: its SHA-256 does not match its contents")
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        metadata = json.loads(files.pop("metadata.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"model artifact is unreadable: {error}") from error
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"model artifact format {metadata.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    return metadata, files

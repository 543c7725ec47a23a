"""What `ember load` reads: files and folders of Bundles (`.json`) and NDJSON (`.ndjson`),
either of them gzipped, and FHIR packages (`.tgz`: an implementation guide's or a core
package's conformance resources as `package/*.json`), cut into units that can be loaded
independently of each other."""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BUNDLE_SUFFIXES = (".json", ".json.gz")
NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz")
PACKAGE_SUFFIXES = (".tgz", ".tar.gz")
# files of a package's folder that are not resources (package.json is its manifest)
_PACKAGE_METADATA = frozenset({"package/package.json", "package/.index.json"})
# Enough lines that a worker's round trip is cheap, few enough that progress moves.
LINES_PER_CHUNK = 500


@dataclass(frozen=True, slots=True)
class BundleFile:
    """A whole JSON file: a Bundle (of any kind) or a single resource."""

    path: str
    size: int  # bytes on disk, for progress


@dataclass(frozen=True, slots=True)
class NdjsonChunk:
    """Consecutive lines of an NDJSON file, one resource each."""

    path: str
    first_line: int
    lines: list[bytes]
    size: int  # bytes on disk these lines account for, for progress


@dataclass(frozen=True, slots=True)
class PackageFile:
    """An npm-style FHIR package (package.html of the FHIR registry): a gzipped tar."""

    path: str
    size: int


Unit = BundleFile | NdjsonChunk | PackageFile


def is_loadable(path: Path) -> bool:
    return path.name.endswith(BUNDLE_SUFFIXES + NDJSON_SUFFIXES + PACKAGE_SUFFIXES)


def find_files(paths: Iterable[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The loadable files the paths name (folders searched recursively, in name order),
    and (path, problem) for each path that yields nothing."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_loadable(p))
            if not found:
                problems.append((name, "the folder holds no .json or .ndjson files"))
            files.extend(found)
        elif path.is_file():
            if is_loadable(path):
                files.append(path)
            else:
                problems.append((name, "not a .json, .ndjson, .json.gz, .ndjson.gz or .tgz file"))
        else:
            problems.append((name, "no such file or folder"))
    return files, problems


def open_binary(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_bytes(path: str) -> bytes:
    with open_binary(Path(path)) as stream:
        return stream.read()


def units(files: Iterable[Path]) -> Iterator[Unit]:
    for path in files:
        if path.name.endswith(NDJSON_SUFFIXES):
            yield from _ndjson_chunks(path)
        elif path.name.endswith(PACKAGE_SUFFIXES):
            yield PackageFile(str(path), path.stat().st_size)
        else:
            yield BundleFile(str(path), path.stat().st_size)


def _ndjson_chunks(path: Path) -> Iterator[NdjsonChunk]:
    """Chunks streamed from the file, so files larger than memory work. Sizes come from
    the position in the file on disk, so gzipped files advance progress as well."""
    size = path.stat().st_size
    accounted = 0
    with path.open("rb") as raw:
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
        lines: list[bytes] = []
        first = 1
        for number, line in enumerate(stream, start=1):
            lines.append(line)
            if len(lines) == LINES_PER_CHUNK:
                position = min(raw.tell(), size)
                yield NdjsonChunk(str(path), first, lines, position - accounted)
                accounted, first, lines = position, number + 1, []
        if lines or accounted < size:
            yield NdjsonChunk(str(path), first, lines, size - accounted)


@dataclass(frozen=True, slots=True)
class Oversized:
    """A package member larger than one resource may be: left unread (the size in its
    tar header is known before decompressing, a small archive can unpack to gigabytes)."""

    size: int


def package_resources(path: str, max_bytes: int) -> Iterator[tuple[str, bytes | Oversized]]:
    """(member name, content) of the resources directly in a package's `package/`
    folder; examples in subfolders are not loaded. Members are read, never extracted."""
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            name = member.name.removeprefix("./")
            if (
                not member.isfile()
                or not name.startswith("package/")
                or "/" in name[len("package/") :]
                or not name.endswith(".json")
                or name in _PACKAGE_METADATA
            ):
                continue
            if member.size > max_bytes:
                yield name, Oversized(member.size)
                continue
            stream = archive.extractfile(member)
            if stream is not None:
                yield name, stream.read()

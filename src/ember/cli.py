"""The `ember` command: `ember serve` runs the FHIR server, `ember load` fills its database."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ember.config import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides = {
        "host": args.host,
        "port": args.port,
        "database_url": args.database,
        "base_url": args.base_url,
        "workers": args.workers,
    }
    settings = Settings.from_env(**overrides)
    # Workers are separate processes: they read their settings from the environment.
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"EMBER_{name.upper()}"] = str(value)
    print(
        f"Ember FHIR server on http://{settings.host}:{settings.port}/fhir "
        f"(database {settings.database_url.split('@')[-1]})",
        file=sys.stderr,
    )
    uvicorn.run(
        "ember.api.server:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


# Failures listed one per line after a load; beyond this only their number.
_FAILURES_SHOWN = 200


def _load(args: argparse.Namespace) -> int:
    from ember.load import load_paths

    settings = Settings.from_env(database_url=args.database)
    workers = args.workers or min(4, os.cpu_count() or 1)
    summary = load_paths(args.paths, settings, workers, progress=False if args.quiet else None)
    for failure in summary.failures[:_FAILURES_SHOWN]:
        print(failure, file=sys.stderr)
    hidden = len(summary.failures) - _FAILURES_SHOWN
    if hidden > 0:
        print(f"... and {hidden} more failures", file=sys.stderr)
    print(
        f"Loaded {summary.loaded} resources from {summary.files} files in "
        f"{summary.seconds:.1f} s ({summary.per_second:.0f} resources/s); "
        f"{len(summary.failures)} failures in {summary.failed_files} files",
        file=sys.stderr,
    )
    if summary.by_type:
        counts = ", ".join(f"{count} {type_}" for type_, count in sorted(summary.by_type.items()))
        print(f"By type: {counts}", file=sys.stderr)
    return 1 if summary.failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ember", description="Ember FHIR server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the FHIR server")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--database", help="sqlite:///path.db (default) or postgresql://...")
    serve.add_argument("--base-url", help="public URL of the FHIR base, if behind a proxy")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.set_defaults(run=_serve)
    load = commands.add_parser(
        "load",
        help="load Bundles (transaction, batch, collection), NDJSON files and FHIR packages (.tgz) "
        "into the database",
        description="Load .json/.json.gz Bundles and .ndjson/.ndjson.gz files, or folders of "
        "them. Exit code 1 if anything failed.",
    )
    load.add_argument("paths", nargs="+", metavar="PATH", help="file or folder")
    load.add_argument("--database", help="sqlite:///path.db (default) or postgresql://...")
    load.add_argument(
        "--workers", type=int, help="worker processes (default: cores, at most 4; 1: no pool)"
    )
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(run=_load)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

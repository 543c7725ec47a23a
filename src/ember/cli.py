"""The `ember` command: `ember serve` runs the FHIR server."""

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
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

"""``python -m devstack`` (``make run``): the whole stack on loopback.

See :mod:`devstack.stack` for what runs and the settings it reads.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path

from devstack.stack import Options, StartupError, run

PROJECT_DIR = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the stack, return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="moto + the API + the SQS workers of hava-cabinet on 127.0.0.1",
    )
    parser.add_argument("--reset", action="store_true", help="empty the outbox before starting")
    args = parser.parse_args(argv)
    # stdout, plain messages: what `chalice local` does, so app logs look the same.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    # INFO there is set-up chatter (and key contexts), not application events.
    for noisy in ("botocore", "pynamodb", "aws_encryption_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        options = Options.from_env(PROJECT_DIR, reset=args.reset)
    except StartupError as exc:
        print(f"hava-cabinet local stack: {exc}", file=sys.stderr)
        return 2
    code = run(options)
    # Everything is stopped and flushed. Leave moto's ~500 000 objects to the OS:
    # the interpreter's final garbage collection of them takes seconds.
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(main())

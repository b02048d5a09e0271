#!/usr/bin/env python3
"""A real SMTP server for Latchkey's end-to-end tests (started by scripts/test).

Accepts every message on HOST:PORT and stores it as DIR/<recipient>/<time>-<n>.eml, one copy
per recipient, so a test finds its mail by its own unique address. A file appears whole: it
is written under a dot-name and then renamed. Prints "ready" once it accepts connections,
and exits on SIGTERM/SIGINT or when the process that started it is gone.
"""

import argparse
import itertools
import os
import re
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


def folder_name(address: str) -> str:
    """The recipient as a directory name; tests/e2e/support/smtp.rs applies the same rule."""
    return re.sub(r"[^a-z0-9@._+-]", "_", address.lower())


class Sink:
    def __init__(self, root: str):
        self.root = root
        self.seq = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            folder = os.path.join(self.root, folder_name(rcpt))
            os.makedirs(folder, exist_ok=True)
            name = f"{time.time_ns():020d}-{next(self.seq):06d}.eml"
            partial = os.path.join(folder, f".{name}.part")
            with open(partial, "wb") as f:
                f.write(envelope.original_content or envelope.content)
            os.rename(partial, os.path.join(folder, name))
        return "250 Message accepted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()

    controller = Controller(Sink(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"ready {args.host}:{args.port} -> {args.dir}", flush=True)
    # A parent killed hard cannot stop us: notice it is gone instead of lingering.
    while not stop.wait(1) and os.getppid() == parent:
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quiet set-up steps for `make run`: one line per step on the terminal, details in a log.

`dxplan serve --setup-log FILE` runs each set-up step (starting PostgreSQL, migrating,
loading the plan) with its standard output and error, its subprocesses' included (initdb,
pg_ctl), sent to FILE at the file-descriptor level, and prints one line per step:

    dxplan: migrating ... done (0.4 s)

When a step fails, everything it wrote is printed in full after its line, then the error
propagates (the command exits non-zero). Without a log file the steps print nothing of their
own and their output goes where it always went (the terminal, a container's log), so
`dxplan serve` run by hand, by Docker or by the tests is unchanged.
"""

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Steps:
    def __init__(self, log: Path | None) -> None:
        self.log = log
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        if self.log is None:
            yield
            return
        print(f"dxplan: {title} ...", end="", file=sys.stderr, flush=True)
        started = time.monotonic()
        sys.stdout.flush()
        sys.stderr.flush()
        with self.log.open("ab") as log:
            log.write(f"==> {title} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
            log.flush()
            offset = log.tell()
            saved = os.dup(1), os.dup(2)
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            failed = False
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
                if failed:
                    print(" failed:", file=sys.stderr, flush=True)
                    self._show_from(offset)
                else:
                    elapsed = time.monotonic() - started
                    print(f" done ({elapsed:.1f} s)", file=sys.stderr, flush=True)

    def _show_from(self, offset: int) -> None:
        assert self.log is not None
        with self.log.open("rb") as log:
            log.seek(offset)
            sys.stderr.write(log.read().decode("utf-8", "replace"))
        print(f"dxplan: (the whole log is in {self.log})", file=sys.stderr, flush=True)

"""Children for the durability test without an interpreter start each: this process imports the
agent once, then on each `go` line forks a child that runs `enqueue_child.main` (a store of its
own, enqueueing forever). It says `pid N`, passes on everything the child prints, and once the
child has ended (the test kills it) says `dead STATUS`."""

from __future__ import annotations

import os
import sys
import threading

from tests.queue import enqueue_child


def _child(path: str, write_end: int) -> None:
    os.dup2(write_end, 1)  # what the child prints goes to its own pipe
    os.close(write_end)
    try:
        enqueue_child.main(path)
    finally:
        os._exit(1)


def main(path: str) -> None:
    assert threading.active_count() == 1, "no thread may hold a lock the children would inherit"
    print("loaded", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(path, write_end)
        os.close(write_end)
        print(f"pid {pid}", flush=True)
        out = "\n"
        with os.fdopen(read_end) as printed:
            for out in printed:  # until the child is gone and its pipe closed
                sys.stdout.write(out)
                sys.stdout.flush()
        _, status = os.waitpid(pid, 0)
        if not out.endswith("\n"):  # killed between a line and its end (unbuffered stdout)
            print()
        print(f"dead {status}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])

"""A child process for the durability test: enqueues forever, printing each id once it returned."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from agent.clock import SystemClock
from agent.queue import NewOperation, SQLiteBackend
from agent.store import Store
from agent.store.models import OpKind


def main(path: str) -> None:
    store = Store(Path(path))
    box = SQLiteBackend(store, SystemClock())
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        temp = uuid.uuid4().hex
        ticket = box.enqueue(
            NewOperation(OpKind.CREATE, "Ticket", {"title": f"t{n}"}, temp_id=temp)
        )
        print(ticket.id, flush=True)
        note = box.enqueue(
            NewOperation(OpKind.CREATE, "TicketNote", {"description": f"n{n}"}, parent_temp_id=temp)
        )
        print(note.id, flush=True)
        edit = box.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"status": n}, target_id=n))
        print(edit.id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])

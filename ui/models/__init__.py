"""Qt item models over the agent facade's plain values (tickets, the queue, the audit trail)."""

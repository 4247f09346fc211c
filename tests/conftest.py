"""Suite-wide set-up."""

import signal

import pytest

# A shell that starts the suite in the background (`make test &`, some CI runners) ignores SIGINT,
# and ignored signals stay ignored in every child it execs: a process the exec node starts could
# then never be stopped with SIGINT. Catching it here gives children the default action again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class Marker:
    """Negative checks ("nothing (more) arrived at n2") without sleeping.

    Deliveries are one FIFO queue: a marker message queued after an unwanted message, on the same
    node's input, reaches every node behind it after that message. So wire the marker to the
    node(s) the unwanted message would be delivered to first (`marker.node("catch1")` in the
    flow: a rule-less change node), and `await marker.received(h, "n2")` is what n2, behind
    them, got before the marker. Messages a node sends later (from a timer, or after I/O) are
    not covered: advance a virtual clock first.
    """

    id = "marker"

    def __init__(self) -> None:
        self._sent = 0

    def node(self, *targets: str, **extra) -> dict:
        return {"id": self.id, "type": "change", "rules": [], "wires": [list(targets)], **extra}

    async def received(self, h, observed_id: str) -> list[dict]:
        self._sent += 1
        token = self._sent
        h.node(self.id).receive({"_marker": token})
        observed = h.node(observed_id)
        while True:
            got = observed.received
            for index, msg in enumerate(got):
                if msg.get("_marker") == token:
                    return [m for m in got[:index] if "_marker" not in m]
            await observed.inputs(len(got) + 1)


@pytest.fixture
def marker() -> Marker:
    return Marker()

"""Suite-wide set-up."""

import signal

# A shell that starts the suite in the background (`make test &`, some CI runners) ignores SIGINT,
# and ignored signals stay ignored in every child it execs: a process the exec node starts could
# then never be stopped with SIGINT. Catching it here gives children the default action again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

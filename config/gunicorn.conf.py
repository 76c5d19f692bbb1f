"""Gunicorn settings for `make run` (gunicorn --config config/gunicorn.conf.py).

The port comes from ``PORT`` (`make run PORT=8001`); scripts/run.sh reads ``bind`` from
this file to check the port is free and to print the address it serves.
"""

import contextlib
import os
import socket
import threading
import time

PORT = os.environ.get("PORT", "") or "8000"
if not PORT.isdigit() or not 0 < int(PORT) < 65536:
    raise SystemExit(f"PORT={PORT!r} is not a port number: use 1 to 65535, e.g. PORT=8001.")

wsgi_app = "config.wsgi:application"
# Plain HTTP, so localhost only (see Makefile and README).
bind = f"127.0.0.1:{int(PORT)}"
workers = 2
# Requests are short; a stuck worker is restarted rather than left holding a lock.
timeout = 60
# The API takes up to 500 `sku=` parameters (README "Input limits"); gunicorn's default
# request line (4094 bytes) let only ~300 through. 8190 is gunicorn's largest finite limit.
limit_request_line = 8190
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
loglevel = "info"
# The control socket lives in ~/.gunicorn and is not used here; two checkouts would share it.
control_socket_disable = True

# A worker whose master was killed (kill -9, OOM) must not keep the port: gunicorn's own
# parent check runs only between requests, so a worker busy with a slow request held it
# for half a minute and `make run` could not start again. Each worker watches its parent
# and, once it is gone, shuts the shared listening socket (freeing the port at once; the
# request in hand still finishes) and exits at the latest after graceful_timeout.
ORPHAN_POLL_SECONDS = 0.5


def post_worker_init(worker):
    parent = worker.ppid

    def watch():
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_SECONDS)
        worker.log.warning("Master %s is gone: worker %s frees the port", parent, worker.pid)
        worker.alive = False  # the accept loop ends when the shutdown wakes it
        for listener in worker.sockets:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(listener.sock, socket.SHUT_RDWR)
        time.sleep(graceful_timeout)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()

"""Gunicorn settings for `make run` (gunicorn --config config/gunicorn.conf.py)."""

wsgi_app = "config.wsgi:application"
bind = "127.0.0.1:8000"
workers = 2
# Requests are short; a stuck worker is restarted rather than left holding a lock.
timeout = 60
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
loglevel = "info"
# The control socket lives in ~/.gunicorn and is not used here; two checkouts would share it.
control_socket_disable = True

# Two commands: `make run` serves the demo, `make test` runs every check.
# The work is done in scripts/; see README.md.

.PHONY: run test clean

# DEBUG off as in production, but plain HTTP on localhost (no HTTPS redirect,
# no secure-only cookies, no HSTS). Any of these can be overridden from the environment.
run:
	@DEBUG=$${DEBUG:-0} \
	SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-0} \
	SESSION_COOKIE_SECURE=$${SESSION_COOKIE_SECURE:-0} \
	CSRF_COOKIE_SECURE=$${CSRF_COOKIE_SECURE:-0} \
	SECURE_HSTS_SECONDS=$${SECURE_HSTS_SECONDS:-0} \
	scripts/run.sh

test:
	@scripts/test.sh

# Remove what make run/test generate (keeps var/: the database and secret key).
clean:
	rm -rf .venv staticfiles test-results .pytest_cache .ruff_cache

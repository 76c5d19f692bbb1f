# Two commands: `make run` serves the demo, `make test` runs every check.
# The work is done in scripts/; see README.md.

.PHONY: run test clean

# DEBUG off as in production, but plain HTTP on localhost: scripts/run.sh sets that up
# (the browser tests start the same script). `make run PORT=8001` serves on another port;
# settings can be overridden from the environment.
run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Remove what make run/test generate (keeps var/: the database and secret key).
clean:
	rm -rf .venv staticfiles test-results artifacts .pytest_cache .ruff_cache

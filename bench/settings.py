"""Settings for benchmark runs: the production settings with a throwaway key, DEBUG off."""

import os
import warnings

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-deployments-42")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405

# Static files come from the finders here; collectstatic has not necessarily run.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")

# The benchmark's webhook receivers listen on 127.0.0.1 (README "Webhook address rules").
STOCKROOM_WEBHOOK_ALLOW_PRIVATE = True

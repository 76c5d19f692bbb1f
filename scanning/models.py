"""What a scan station remembers between scans: its state and the scans it answered."""

from django.conf import settings
from django.db import models


class StationSession(models.Model):
    """One user's place at one station: what the current step has scanned so far.

    Kept on the server so a reload or a dropped connection loses nothing.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    station = models.CharField(max_length=20)
    state = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "station"], name="one_session_per_station")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.station}"


class ScanRecord(models.Model):
    """One submission to a station, kept once per ``scan_id``: a retry gets the same answer."""

    session = models.ForeignKey(StationSession, on_delete=models.CASCADE, related_name="scans")
    scan_id = models.CharField(max_length=64)
    code = models.CharField(max_length=200, blank=True)
    ok = models.BooleanField()
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "scan_id"], name="one_answer_per_scan_id")
        ]
        indexes = [models.Index(fields=["session", "-id"], name="scan_log")]

    def __str__(self) -> str:
        return f"{self.code or '(cancel)'}: {self.message}"

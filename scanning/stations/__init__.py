"""The scan stations, one module each, on the shared framework in ``base``."""

from .base import Station
from .count import CountStation
from .lookup import LookupStation
from .putaway import PutAwayStation
from .receive import ReceiveStation

STATIONS: dict[str, Station] = {
    station.kind: station
    for station in (LookupStation(), PutAwayStation(), CountStation(), ReceiveStation())
}

__all__ = ["STATIONS", "Station"]

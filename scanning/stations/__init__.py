"""The scan stations, one module each, on the shared framework in ``base``."""

from .base import Station
from .count import CountStation
from .lookup import LookupStation
from .pick import PickStation
from .putaway import PutAwayStation
from .receive import ReceiveStation

STATIONS: dict[str, Station] = {
    station.kind: station
    for station in (
        LookupStation(),
        ReceiveStation(),
        PutAwayStation(),
        PickStation(),
        CountStation(),
    )
}

__all__ = ["STATIONS", "Station"]

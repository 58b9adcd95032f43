"""The weather demo tool of the model-providers sample, as a durable activity.

Deterministic demo data, no network: the point is to show a tool call run as an
activity in the workflow history, not to forecast weather.
"""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    place = city.strip() or "that city"
    return f"The weather in {place} is sunny with wind from the east at 7-10 km/h."

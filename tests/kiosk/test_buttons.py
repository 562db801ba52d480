"""GPIO area buttons on gpiozero's MockFactory: one press, one request; a bouncing contact, still one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from kiosk.buttons import GpiozeroButtons
from kiosk.config import AreaPin


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    saved, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        yield Device.pin_factory
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = saved


def test_each_press_asks_for_its_area_and_bounces_are_ignored(mock_pins: MockFactory) -> None:
    now = [100.0]
    pressed: list[tuple[str, str]] = []
    buttons = GpiozeroButtons((AreaPin(17, "dat-dai"), AreaPin(27, "dat-dai", "elderly")),
                              lambda area, priority: pressed.append((area, priority)), clock=lambda: now[0])
    pin = mock_pins.pin(17)
    pin.drive_low()  # pressed (pull-up: the button connects the pin to ground)
    pin.drive_high()
    now[0] += 0.05
    pin.drive_low()  # the contact bounces
    pin.drive_high()
    assert pressed == [("dat-dai", "none")]
    now[0] += 0.5
    pin.drive_low()
    pin.drive_high()
    mock_pins.pin(27).drive_low()
    assert pressed == [("dat-dai", "none"), ("dat-dai", "none"), ("dat-dai", "elderly")]
    buttons.close()

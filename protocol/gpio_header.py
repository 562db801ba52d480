"""The Raspberry Pi's 40-pin header: physical pin <-> BCM GPIO number, and the GPIOs the device configs refuse.

The header is the same on the Pi 3 B/B+, Pi 4 B, Pi 5 and Zero 2 W (firmware_configs/gpio/README.md
draws it and gives the wiring of the shipped examples; a test checks that document against this table).
Pure data and functions: no hardware library is imported.
"""

from __future__ import annotations

# Physical pin -> what it is. "GPIOn" is BCM GPIO n; what follows the slash is its usual other function.
HEADER: dict[int, str] = {
    1: "3V3", 2: "5V",
    3: "GPIO2 / I2C1 SDA", 4: "5V",
    5: "GPIO3 / I2C1 SCL", 6: "GND",
    7: "GPIO4 / GPCLK0", 8: "GPIO14 / UART TXD",
    9: "GND", 10: "GPIO15 / UART RXD",
    11: "GPIO17", 12: "GPIO18 / PCM CLK",
    13: "GPIO27", 14: "GND",
    15: "GPIO22", 16: "GPIO23",
    17: "3V3", 18: "GPIO24",
    19: "GPIO10 / SPI0 MOSI", 20: "GND",
    21: "GPIO9 / SPI0 MISO", 22: "GPIO25",
    23: "GPIO11 / SPI0 SCLK", 24: "GPIO8 / SPI0 CE0",
    25: "GND", 26: "GPIO7 / SPI0 CE1",
    27: "GPIO0 / ID_SD", 28: "GPIO1 / ID_SC",
    29: "GPIO5", 30: "GND",
    31: "GPIO6", 32: "GPIO12 / PWM0",
    33: "GPIO13 / PWM1", 34: "GND",
    35: "GPIO19 / PCM FS", 36: "GPIO16",
    37: "GPIO26", 38: "GPIO20 / PCM DIN",
    39: "GND", 40: "GPIO21 / PCM DOUT",
}

BCM_TO_PHYSICAL: dict[int, int] = {
    int(name.split()[0][4:]): pin for pin, name in HEADER.items() if name.startswith("GPIO")
}
PHYSICAL_TO_BCM: dict[int, int] = {pin: bcm for bcm, pin in BCM_TO_PHYSICAL.items()}
GROUND_PINS: tuple[int, ...] = tuple(pin for pin, name in HEADER.items() if name == "GND")

# GPIOs a button, an LED or a buzzer must not use, and why.
RESERVED: dict[int, str] = {
    0: "ID_SD, the HAT ID EEPROM's bus, which the firmware reads at boot",
    1: "ID_SC, the HAT ID EEPROM's bus, which the firmware reads at boot",
    2: "I2C1 SDA, kept for an RTC clock or a HAT (it has a fixed 1.8 kΩ pull-up)",
    3: "I2C1 SCL, kept for an RTC clock or a HAT (it has a fixed 1.8 kΩ pull-up)",
    14: "the UART's TXD, kept for the serial console, a TTL serial printer or an RS-485 HAT",
    15: "the UART's RXD, kept for the serial console, a TTL serial printer or an RS-485 HAT",
}


def physical_pin(bcm: int) -> int:
    """The physical header pin of BCM GPIO `bcm`; KeyError for a GPIO that is not on the header."""
    return BCM_TO_PHYSICAL[bcm]


def pin_problem(bcm: int) -> str | None:
    """Why BCM GPIO `bcm` cannot take a button, an LED or a buzzer (one line), or None when it can."""
    if bcm not in BCM_TO_PHYSICAL:
        return f"GPIO {bcm} is not on the 40-pin header (0-27)"
    if bcm in RESERVED:
        return (f"GPIO {bcm} (physical pin {BCM_TO_PHYSICAL[bcm]}) is {RESERVED[bcm]}: choose another pin "
                "(firmware_configs/gpio/README.md)")
    return None

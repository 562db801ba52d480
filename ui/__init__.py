"""What the kiosk's and the hall board's pygame screens share: fonts, text, fitting."""

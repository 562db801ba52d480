"""The citizen web: the page a ticket's QR opens, followed live, and the rating from the phone."""

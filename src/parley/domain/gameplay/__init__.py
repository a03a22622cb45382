"""Game rooms, player actions relayed in order, authoritative games (`/gameplay`)."""
